"""Python Ocean's own mapping on the benchmark records, for `cargo xtask bench`.

Usage: python python_map.py PORT_APP_CONFIG ITEMS_JSON WORKERS

Loads the port-app-config with Ocean's own models, then maps every record of ITEMS_JSON (one
JSON array, one batch, as a non-generator resync hands it over) through the `item` resource
with Ocean's `JQEntityProcessor.parse_items`, with WORKERS mapping processes (Ocean's
`process_in_queue_max_workers`). Prints one JSON line: records, entities, mapping seconds.
Only the mapping is timed (not loading the records); peak RSS is the caller's to measure.
"""

import asyncio
import json
import sys
import time
import types

import yaml
from loguru import logger

import port_ocean.context.ocean as ocean_context
from port_ocean.core.handlers.entity_processor.jq_entity_processor import JQEntityProcessor
from port_ocean.core.handlers.port_app_config.models import PortAppConfig


def main() -> None:
    config_path, items_path, workers = sys.argv[1], sys.argv[2], int(sys.argv[3])
    logger.remove()
    with open(config_path) as f:
        config = PortAppConfig.parse_obj(yaml.safe_load(f))
    resource = next(r for r in config.resources if r.kind == "item")
    settings = types.SimpleNamespace(
        allow_environment_variables_jq_access=True,
        process_in_queue_max_workers=workers,
        process_in_queue_timeout=600,
        yield_items_to_parse_batch_size=200,
    )
    # The smallest Ocean context the entity processor reads: its settings, no Port client
    # (the benchmark mapping has no misconfigured field, so no blueprint is fetched).
    ocean_context._port_ocean = ocean_context.PortOceanContext(
        types.SimpleNamespace(config=settings, port_client=None)
    )
    with open(items_path) as f:
        items = json.load(f)
    processor = JQEntityProcessor(ocean_context.ocean)
    start = time.perf_counter()
    result = asyncio.run(processor.parse_items(resource, items))
    seconds = time.perf_counter() - start
    print(
        json.dumps(
            {
                "records": len(items),
                "entities": len(result.entity_selector_diff.passed),
                "seconds": seconds,
            }
        )
    )


if __name__ == "__main__":
    main()
