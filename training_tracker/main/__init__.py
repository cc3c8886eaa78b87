from training_tracker.main.routes import bp

__all__ = ["bp"]
