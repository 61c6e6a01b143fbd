"""SQS over the Query protocol against a running sandbox, with boto3/botocore 1.31.

Run by tests/aws_query.rs: SANDBOX_ENDPOINT names the sandbox. botocore checks every MD5
SQS returns (bodies and message attributes), so a wrong digest fails here. Prints one line
per check and exits non-zero on the first failure.
"""
import os
import sys

import boto3
import botocore.exceptions

endpoint = os.environ["SANDBOX_ENDPOINT"]
sqs = boto3.client(
    "sqs",
    endpoint_url=endpoint,
    region_name="us-east-1",
    aws_access_key_id="test",
    aws_secret_access_key="test",
)


def check(what, ok):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        sys.exit(1)


def error_code(call):
    try:
        call()
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]
    return None, 200


url = sqs.create_queue(QueueName="query", Attributes={"VisibilityTimeout": "7"})["QueueUrl"]
check("CreateQueue answers the queue URL", url == endpoint + "/123456789012/query")
check("GetQueueUrl", sqs.get_queue_url(QueueName="query")["QueueUrl"] == url)
check("ListQueues", url in sqs.list_queues(QueueNamePrefix="qu")["QueueUrls"])
check(
    "GetQueueUrl of a missing queue is AWS.SimpleQueueService.NonExistentQueue",
    error_code(lambda: sqs.get_queue_url(QueueName="missing"))
    == ("AWS.SimpleQueueService.NonExistentQueue", 400),
)

attributes = {
    "color": {"DataType": "String", "StringValue": "red"},
    "count": {"DataType": "Number", "StringValue": "3"},
    "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xff"},
    "custom": {"DataType": "String.custom", "StringValue": "x"},
}
sent = sqs.send_message(QueueUrl=url, MessageBody="hello <query> & xml\r\n", MessageAttributes=attributes)
check("SendMessage answers a message id", len(sent["MessageId"]) == 36)

got = sqs.receive_message(
    QueueUrl=url,
    MaxNumberOfMessages=10,
    AttributeNames=["All"],
    MessageAttributeNames=["All"],
)["Messages"]
message = got[0]
check("the body round-trips through XML", message["Body"] == "hello <query> & xml\r\n")
check("message attributes round-trip", message["MessageAttributes"]["blob"]["BinaryValue"] == b"\x00\x01\xff")
check("system attributes are listed", message["Attributes"]["ApproximateReceiveCount"] == "1")

batch = sqs.send_message_batch(
    QueueUrl=url,
    Entries=[{"Id": "a", "MessageBody": "one"}, {"Id": "b", "MessageBody": "two", "DelaySeconds": 901}],
)
check("SendMessageBatch reports per-entry success", [e["Id"] for e in batch["Successful"]] == ["a"])
check("and per-entry failure", batch["Failed"][0]["Id"] == "b" and batch["Failed"][0]["SenderFault"])
check(
    "a batch with repeated ids is AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
    error_code(
        lambda: sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": "x", "MessageBody": "1"}, {"Id": "x", "MessageBody": "2"}]
        )
    )[0]
    == "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
)

sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
check(
    "a made-up receipt handle is ReceiptHandleIsInvalid",
    error_code(lambda: sqs.delete_message(QueueUrl=url, ReceiptHandle="nope"))[0] == "ReceiptHandleIsInvalid",
)
attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
check("GetQueueAttributes", attrs["VisibilityTimeout"] == "7" and attrs["ApproximateNumberOfMessages"] == "1")
sqs.set_queue_attributes(QueueUrl=url, Attributes={"DelaySeconds": "2"})
check(
    "SetQueueAttributes",
    sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["DelaySeconds"])["Attributes"] == {"DelaySeconds": "2"},
)
sqs.tag_queue(QueueUrl=url, Tags={"team": "core"})
check("tags", sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "core"})
check(
    "CreateQueue with other attributes is QueueAlreadyExists",
    error_code(lambda: sqs.create_queue(QueueName="query", Attributes={"VisibilityTimeout": "8"}))[0]
    == "QueueAlreadyExists",
)
sqs.purge_queue(QueueUrl=url)
sqs.delete_queue(QueueUrl=url)
check("DeleteQueue", url not in sqs.list_queues().get("QueueUrls", []))
print("all query checks passed")
