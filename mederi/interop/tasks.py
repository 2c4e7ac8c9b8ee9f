"""Background jobs of the interfaces: send a lab order; every minute, retry the orders that are due."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from mederi.interop import orders


@db_task()
def send_lab_order(order_id: int) -> str:
    return orders.deliver(order_id)


@db_periodic_task(crontab(minute="*"))
def retry_lab_orders() -> int:
    return orders.retry_due()
