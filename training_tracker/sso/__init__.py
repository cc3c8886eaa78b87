"""Single sign-on through each municipality's identity provider: the sign-in itself (routes
for OpenID Connect, saml_routes for SAML 2.0) and the admin page of providers (admin_routes)."""

from training_tracker.sso import admin_routes as admin_routes  # registers its views
from training_tracker.sso import saml_routes as saml_routes  # registers its views
from training_tracker.sso.routes import bp

__all__ = ["bp"]
