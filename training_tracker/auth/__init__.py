from training_tracker.auth.routes import bp

__all__ = ["bp"]
