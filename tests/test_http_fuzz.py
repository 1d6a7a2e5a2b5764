"""Property-based API fuzzing from the checked-in OpenAPI document (schemathesis): against a
real server, no answer is a 5xx and every answer matches the document (status, media type,
schema). Bounded: a few examples per operation, derandomized, so it is fast and repeatable."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from tests.http_helpers import Server, new_key, prepare_home, running_server

SCHEMA = schemathesis.openapi.from_path(Path(__file__).parent.parent / "docs" / "openapi.json")
CHECKS = (
    not_a_server_error, status_code_conformance, content_type_conformance,
    response_schema_conformance, negative_data_rejection,
)


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    home = tmp_path_factory.mktemp("fuzz") / "home"
    with prepare_home(home) as bridge:
        bridge.add_user("alice", "correct horse")
        bridge.provision("alice", "scc", image_path=home / "scc.img")
    key = new_key(home, "fuzzer", "admin")
    limits = ("--rate-per-user", "1000000", "--rate-per-address", "1000000",
              "--rate-per-key", "1000000")
    with running_server(home, *limits) as server:
        yield server, key


@SCHEMA.parametrize()
@settings(max_examples=15, derandomize=True, deadline=None,
          suppress_health_check=list(HealthCheck))
def test_no_5xx_and_answers_match_the_document(
    case: schemathesis.Case, fuzz_server: tuple[Server, str]
) -> None:
    server, key = fuzz_server
    case.call_and_validate(
        base_url=server.url, headers={"Authorization": f"Bearer {key}"}, checks=CHECKS,
        timeout=30,
    )
