from celery import shared_task

from sms import services


@shared_task(name="sms.tasks.send_message", ignore_result=True)
def send_message(message_id: int) -> None:
    services.deliver(message_id=message_id)
