"""Schemathesis against our own OpenAPI document: generated requests (valid and invalid) to every
route must get documented statuses and bodies that match the schema, never a 5xx.

Two deliberate exceptions: a method a path does not have answers NotFound (404), as the contract
says for unknown routes and as DashScope clients expect, not 405, so that check is excluded; and a
webhook URL that matches its schema may still be refused (InvalidParameter), because whether its
host resolves to a public address is decided by DNS, which no schema can express.
"""

from __future__ import annotations

from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance, unsupported_method

from modelport.api.app import create_app
from modelport.services import open_services
from modelport.settings import Settings


def test_every_route_answers_within_its_contract(tmp_path: Path) -> None:
    services = open_services(Settings(data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path / 'fuzz.db'}"))
    key, _ = services.keys.create_key("fuzz")
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(services))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 16
    try:
        for operation in operations:
            excluded = [unsupported_method]
            if operation.definition.raw.get("operationId") == "createWebhookEndpoint":
                excluded.append(positive_data_acceptance)

            @given(case=operation.as_strategy())
            @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
            def answers_within_contract(case: schemathesis.Case) -> None:
                case.call_and_validate(headers={"Authorization": f"Bearer {key}"}, excluded_checks=excluded)  # noqa: B023 (called at once)

            answers_within_contract()
    finally:
        services.close()
