"""The two AWS calls Hunch makes itself (an SQS nudge to the worker), signed with Signature Version 4 by hand:
boto3 would add a quarter of a second to every Lambda cold start for one request type."""
