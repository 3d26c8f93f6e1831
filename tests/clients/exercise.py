"""Exercises the generated Python client against a running service (BASE_URL, API_KEY): lists the
assessments, reads one with its report-relevant parts, compares two, and reads the model labels.
Exits non-zero on the first surprise."""

import os
import sys

from msc_readiness_client import AuthenticatedClient
from msc_readiness_client.api.assessments import compare_assessments, get_assessment, list_assessments
from msc_readiness_client.api.model import get_model
from msc_readiness_client.models import AssessmentPage, AssessmentRecord, Comparison, ModelDocument

client = AuthenticatedClient(base_url=os.environ["BASE_URL"], token=os.environ["API_KEY"], raise_on_unexpected_status=True)


def check(condition: bool, what: str) -> None:
    if not condition:
        sys.exit(f"python client: {what}")


page = list_assessments.sync(client=client, limit=50)
check(isinstance(page, AssessmentPage) and len(page.items) > 1, "the list has the seeded assessments")
keyed = [row for row in page.items if row.program_key]
check(len(keyed) > 1, "rows carry the program key")
record = get_assessment.sync(client=client, id=keyed[0].id)
check(isinstance(record, AssessmentRecord), "an assessment reads back")
comparison = compare_assessments.sync(client=client, a=keyed[0].id, b=keyed[1].id)
check(isinstance(comparison, Comparison) and len(comparison.barriers) == 7, "a comparison covers the seven barriers")
model = get_model.sync(client=client)
check(isinstance(model, ModelDocument), "the model document reads")
labels = model.labels.additional_properties
check(any(entry.label == "Phase 1/2 trial" for entry in labels["stage"]), "the model labels stages")
print(f"python client: {len(page.items)} assessments, {len(comparison.input_changes)} changed inputs, labels for {len(labels)} enums")
