"""The demo's municipalities: the six of the small demo, every municipality in Sweden with its
population, and which of them a demo of a given size spans (the six below
:data:`REGION_FROM_EMPLOYEES`, Stockholm County's 26 below :data:`NATION_FROM_EMPLOYEES`, all
290 from there on).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from training_tracker.models import Municipality

MUNICIPALITIES: list[tuple[str, str]] = [
    ("0114", "Upplands Väsby"),
    ("0123", "Järfälla"),
    ("0139", "Upplands-Bro"),
    ("0163", "Sollentuna"),
    ("0183", "Sundbyberg"),
    ("0191", "Sigtuna"),
]
HOME_MUNICIPALITY = "0123"  # Järfälla: where the demo accounts work
COUNTY_CODE = "01"  # Stockholms län: the first two digits of its kommunkoder

# From these sizes on, the demo spans Stockholm County, then the whole country (the six have
# about 17,000 employees, the county about 100,000, every municipality together 850,000).
REGION_FROM_EMPLOYEES = 40_000
NATION_FROM_EMPLOYEES = 250_000


def ensure_municipalities(
    session: Session, wanted: Sequence[tuple[str, str]] = MUNICIPALITIES
) -> dict[str, Municipality]:
    """The ``wanted`` (kommunkod, name) municipalities, the six unless told, keyed by kommunkod
    in the order given; creates the missing ones (idempotent)."""
    existing = {m.code: m for m in session.scalars(sa.select(Municipality))}
    for code, name in wanted:
        if code not in existing:
            municipality = Municipality(code=code, name=name)
            session.add(municipality)
            existing[code] = municipality
    session.flush()
    return {code: existing[code] for code, _name in wanted}


def municipalities_for(employees: int) -> list[tuple[str, str]]:
    """(kommunkod, name) of the municipalities a demo of this size spans, by code."""
    if employees >= NATION_FROM_EMPLOYEES:
        return [(code, name) for code, name, _people in EVERY_MUNICIPALITY]
    if employees >= REGION_FROM_EMPLOYEES:
        return [
            (code, name)
            for code, name, _people in EVERY_MUNICIPALITY
            if code.startswith(COUNTY_CODE)
        ]
    return list(MUNICIPALITIES)


# Every Swedish municipality: (kommunkod, name, roughly its population in thousands). The
# demo spreads staff in proportion to the population; the figures are rounded, not official.
EVERY_MUNICIPALITY: tuple[tuple[str, str, int], ...] = (
    # Stockholms län
    ("0114", "Upplands Väsby", 48),
    ("0115", "Vallentuna", 35),
    ("0117", "Österåker", 48),
    ("0120", "Värmdö", 47),
    ("0123", "Järfälla", 85),
    ("0125", "Ekerö", 29),
    ("0126", "Huddinge", 115),
    ("0127", "Botkyrka", 96),
    ("0128", "Salem", 17),
    ("0136", "Haninge", 97),
    ("0138", "Tyresö", 49),
    ("0139", "Upplands-Bro", 31),
    ("0140", "Nykvarn", 11),
    ("0160", "Täby", 75),
    ("0162", "Danderyd", 33),
    ("0163", "Sollentuna", 76),
    ("0180", "Stockholm", 984),
    ("0181", "Södertälje", 104),
    ("0182", "Nacka", 108),
    ("0183", "Sundbyberg", 55),
    ("0184", "Solna", 85),
    ("0186", "Lidingö", 48),
    ("0187", "Vaxholm", 12),
    ("0188", "Norrtälje", 64),
    ("0191", "Sigtuna", 50),
    ("0192", "Nynäshamn", 30),
    # Uppsala län
    ("0305", "Håbo", 22),
    ("0319", "Älvkarleby", 10),
    ("0330", "Knivsta", 20),
    ("0331", "Heby", 14),
    ("0360", "Tierp", 21),
    ("0380", "Uppsala", 240),
    ("0381", "Enköping", 47),
    ("0382", "Östhammar", 22),
    # Södermanlands län
    ("0428", "Vingåker", 9),
    ("0461", "Gnesta", 11),
    ("0480", "Nyköping", 58),
    ("0481", "Oxelösund", 12),
    ("0482", "Flen", 16),
    ("0483", "Katrineholm", 35),
    ("0484", "Eskilstuna", 107),
    ("0486", "Strängnäs", 38),
    ("0488", "Trosa", 14),
    # Östergötlands län
    ("0509", "Ödeshög", 5),
    ("0512", "Ydre", 4),
    ("0513", "Kinda", 10),
    ("0560", "Boxholm", 5),
    ("0561", "Åtvidaberg", 12),
    ("0562", "Finspång", 22),
    ("0563", "Valdemarsvik", 8),
    ("0580", "Linköping", 166),
    ("0581", "Norrköping", 145),
    ("0582", "Söderköping", 15),
    ("0583", "Motala", 44),
    ("0584", "Vadstena", 7),
    ("0586", "Mjölby", 28),
    # Jönköpings län
    ("0604", "Aneby", 7),
    ("0617", "Gnosjö", 9),
    ("0642", "Mullsjö", 7),
    ("0643", "Habo", 13),
    ("0662", "Gislaved", 30),
    ("0665", "Vaggeryd", 14),
    ("0680", "Jönköping", 145),
    ("0682", "Nässjö", 31),
    ("0683", "Värnamo", 35),
    ("0684", "Sävsjö", 11),
    ("0685", "Vetlanda", 27),
    ("0686", "Eksjö", 17),
    ("0687", "Tranås", 19),
    # Kronobergs län
    ("0760", "Uppvidinge", 9),
    ("0761", "Lessebo", 9),
    ("0763", "Tingsryd", 12),
    ("0764", "Alvesta", 20),
    ("0765", "Älmhult", 18),
    ("0767", "Markaryd", 10),
    ("0780", "Växjö", 97),
    ("0781", "Ljungby", 28),
    # Kalmar län
    ("0821", "Högsby", 6),
    ("0834", "Torsås", 7),
    ("0840", "Mörbylånga", 15),
    ("0860", "Hultsfred", 14),
    ("0861", "Mönsterås", 13),
    ("0862", "Emmaboda", 9),
    ("0880", "Kalmar", 72),
    ("0881", "Nybro", 20),
    ("0882", "Oskarshamn", 27),
    ("0883", "Västervik", 36),
    ("0884", "Vimmerby", 15),
    ("0885", "Borgholm", 11),
    # Gotlands län
    ("0980", "Gotland", 62),
    # Blekinge län
    ("1060", "Olofström", 13),
    ("1080", "Karlskrona", 67),
    ("1081", "Ronneby", 30),
    ("1082", "Karlshamn", 32),
    ("1083", "Sölvesborg", 18),
    # Skåne län
    ("1214", "Svalöv", 14),
    ("1230", "Staffanstorp", 26),
    ("1231", "Burlöv", 20),
    ("1233", "Vellinge", 37),
    ("1256", "Östra Göinge", 15),
    ("1257", "Örkelljunga", 10),
    ("1260", "Bjuv", 16),
    ("1261", "Kävlinge", 33),
    ("1262", "Lomma", 26),
    ("1263", "Svedala", 23),
    ("1264", "Skurup", 17),
    ("1265", "Sjöbo", 19),
    ("1266", "Hörby", 16),
    ("1267", "Höör", 17),
    ("1270", "Tomelilla", 13),
    ("1272", "Bromölla", 13),
    ("1273", "Osby", 13),
    ("1275", "Perstorp", 7),
    ("1276", "Klippan", 18),
    ("1277", "Åstorp", 16),
    ("1278", "Båstad", 15),
    ("1280", "Malmö", 360),
    ("1281", "Lund", 128),
    ("1282", "Landskrona", 47),
    ("1283", "Helsingborg", 151),
    ("1284", "Höganäs", 28),
    ("1285", "Eslöv", 35),
    ("1286", "Ystad", 31),
    ("1287", "Trelleborg", 47),
    ("1290", "Kristianstad", 87),
    ("1291", "Simrishamn", 19),
    ("1292", "Ängelholm", 43),
    ("1293", "Hässleholm", 53),
    # Hallands län
    ("1315", "Hylte", 11),
    ("1380", "Halmstad", 106),
    ("1381", "Laholm", 26),
    ("1382", "Falkenberg", 47),
    ("1383", "Varberg", 67),
    ("1384", "Kungsbacka", 85),
    # Västra Götalands län
    ("1401", "Härryda", 39),
    ("1402", "Partille", 40),
    ("1407", "Öckerö", 13),
    ("1415", "Stenungsund", 28),
    ("1419", "Tjörn", 16),
    ("1421", "Orust", 15),
    ("1427", "Sotenäs", 9),
    ("1430", "Munkedal", 10),
    ("1435", "Tanum", 13),
    ("1438", "Dals-Ed", 5),
    ("1439", "Färgelanda", 7),
    ("1440", "Ale", 32),
    ("1441", "Lerum", 44),
    ("1442", "Vårgårda", 12),
    ("1443", "Bollebygd", 10),
    ("1444", "Grästorp", 6),
    ("1445", "Essunga", 6),
    ("1446", "Karlsborg", 7),
    ("1447", "Gullspång", 5),
    ("1452", "Tranemo", 12),
    ("1460", "Bengtsfors", 9),
    ("1461", "Mellerud", 9),
    ("1462", "Lilla Edet", 14),
    ("1463", "Mark", 35),
    ("1465", "Svenljunga", 11),
    ("1466", "Herrljunga", 9),
    ("1470", "Vara", 16),
    ("1471", "Götene", 13),
    ("1472", "Tibro", 11),
    ("1473", "Töreboda", 9),
    ("1480", "Göteborg", 600),
    ("1481", "Mölndal", 71),
    ("1482", "Kungälv", 48),
    ("1484", "Lysekil", 14),
    ("1485", "Uddevalla", 57),
    ("1486", "Strömstad", 13),
    ("1487", "Vänersborg", 40),
    ("1488", "Trollhättan", 60),
    ("1489", "Alingsås", 42),
    ("1490", "Borås", 115),
    ("1491", "Ulricehamn", 25),
    ("1492", "Åmål", 12),
    ("1493", "Mariestad", 25),
    ("1494", "Lidköping", 40),
    ("1495", "Skara", 19),
    ("1496", "Skövde", 57),
    ("1497", "Hjo", 9),
    ("1498", "Tidaholm", 13),
    ("1499", "Falköping", 34),
    # Värmlands län
    ("1715", "Kil", 12),
    ("1730", "Eda", 8),
    ("1737", "Torsby", 12),
    ("1760", "Storfors", 4),
    ("1761", "Hammarö", 17),
    ("1762", "Munkfors", 4),
    ("1763", "Forshaga", 11),
    ("1764", "Grums", 9),
    ("1765", "Årjäng", 10),
    ("1766", "Sunne", 13),
    ("1780", "Karlstad", 96),
    ("1781", "Kristinehamn", 24),
    ("1782", "Filipstad", 10),
    ("1783", "Hagfors", 11),
    ("1784", "Arvika", 26),
    ("1785", "Säffle", 15),
    # Örebro län
    ("1814", "Lekeberg", 8),
    ("1860", "Laxå", 6),
    ("1861", "Hallsberg", 16),
    ("1862", "Degerfors", 9),
    ("1863", "Hällefors", 7),
    ("1864", "Ljusnarsberg", 5),
    ("1880", "Örebro", 158),
    ("1881", "Kumla", 22),
    ("1882", "Askersund", 11),
    ("1883", "Karlskoga", 30),
    ("1884", "Nora", 11),
    ("1885", "Lindesberg", 23),
    # Västmanlands län
    ("1904", "Skinnskatteberg", 4),
    ("1907", "Surahammar", 10),
    ("1960", "Kungsör", 9),
    ("1961", "Hallstahammar", 16),
    ("1962", "Norberg", 6),
    ("1980", "Västerås", 158),
    ("1981", "Sala", 23),
    ("1982", "Fagersta", 13),
    ("1983", "Köping", 26),
    ("1984", "Arboga", 14),
    # Dalarnas län
    ("2021", "Vansbro", 7),
    ("2023", "Malung-Sälen", 10),
    ("2026", "Gagnef", 10),
    ("2029", "Leksand", 16),
    ("2031", "Rättvik", 11),
    ("2034", "Orsa", 7),
    ("2039", "Älvdalen", 7),
    ("2061", "Smedjebacken", 11),
    ("2062", "Mora", 20),
    ("2080", "Falun", 60),
    ("2081", "Borlänge", 53),
    ("2082", "Säter", 11),
    ("2083", "Hedemora", 15),
    ("2084", "Avesta", 23),
    ("2085", "Ludvika", 26),
    # Gävleborgs län
    ("2101", "Ockelbo", 6),
    ("2104", "Hofors", 9),
    ("2121", "Ovanåker", 11),
    ("2132", "Nordanstig", 9),
    ("2161", "Ljusdal", 19),
    ("2180", "Gävle", 103),
    ("2181", "Sandviken", 40),
    ("2182", "Söderhamn", 25),
    ("2183", "Bollnäs", 26),
    ("2184", "Hudiksvall", 37),
    # Västernorrlands län
    ("2260", "Ånge", 9),
    ("2262", "Timrå", 18),
    ("2280", "Härnösand", 25),
    ("2281", "Sundsvall", 99),
    ("2282", "Kramfors", 18),
    ("2283", "Sollefteå", 19),
    ("2284", "Örnsköldsvik", 56),
    # Jämtlands län
    ("2303", "Ragunda", 5),
    ("2305", "Bräcke", 6),
    ("2309", "Krokom", 15),
    ("2313", "Strömsund", 11),
    ("2321", "Åre", 12),
    ("2326", "Berg", 7),
    ("2361", "Härjedalen", 10),
    ("2380", "Östersund", 64),
    # Västerbottens län
    ("2401", "Nordmaling", 7),
    ("2403", "Bjurholm", 2),
    ("2404", "Vindeln", 5),
    ("2409", "Robertsfors", 7),
    ("2417", "Norsjö", 4),
    ("2418", "Malå", 3),
    ("2421", "Storuman", 6),
    ("2422", "Sorsele", 2),
    ("2425", "Dorotea", 3),
    ("2460", "Vännäs", 9),
    ("2462", "Vilhelmina", 7),
    ("2463", "Åsele", 3),
    ("2480", "Umeå", 131),
    ("2481", "Lycksele", 12),
    ("2482", "Skellefteå", 76),
    # Norrbottens län
    ("2505", "Arvidsjaur", 6),
    ("2506", "Arjeplog", 3),
    ("2510", "Jokkmokk", 5),
    ("2513", "Överkalix", 3),
    ("2514", "Kalix", 16),
    ("2518", "Övertorneå", 4),
    ("2521", "Pajala", 6),
    ("2523", "Gällivare", 17),
    ("2560", "Älvsbyn", 8),
    ("2580", "Luleå", 80),
    ("2581", "Piteå", 43),
    ("2582", "Boden", 28),
    ("2583", "Haparanda", 10),
    ("2584", "Kiruna", 23),
)

# Staff are spread in proportion to the population (thousands).
POPULATION: dict[str, int] = {code: people for code, _name, people in EVERY_MUNICIPALITY}
