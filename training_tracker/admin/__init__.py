from training_tracker.admin.routes import bp

__all__ = ["bp"]
