"""Background work on Celery: the embedded default on local folders, Redis or RabbitMQ in production."""
