"""Interoperability: FIWARE's filip ``ContextBrokerClient`` against ``workbench broker``.

filip runs in its own virtual environment (see ``filip_env.py``); the script below prints
``OK`` after asserting every step, so a failing assertion shows filip's own traceback.
"""

from __future__ import annotations

from filip_env import run_filip_script

SCRIPT = r'''
import sys
from filip.clients.ngsi_v2 import ContextBrokerClient
from filip.models.base import FiwareHeader
from filip.models.ngsi_v2.context import ContextEntity, NamedContextAttribute

url = sys.argv[1]
cb = ContextBrokerClient(url=url, fiware_header=FiwareHeader(service="filip", service_path="/"))
assert cb.get_version()["orion"]["version"]

# create, one by one and in batches of 1000 (2500 sensors)
room = ContextEntity(id="urn:Room:1", type="Room",
                     temperature={"type": "Number", "value": 21.5},
                     name={"type": "Text", "value": "Kitchen"})
cb.post_entity(entity=room)
sensors = [ContextEntity(id=f"urn:Sensor:{i:05d}", type="Sensor",
                         value={"type": "Number", "value": i},
                         ward={"type": "Text", "value": "Chuo" if i % 2 else "Kita"})
           for i in range(2500)]
for start in range(0, len(sensors), 1000):
    cb.update(entities=sensors[start:start + 1000], action_type="append")

# query: paging past 1000 with limit 2001, no entity skipped or repeated
page = cb.get_entity_list(entity_types=["Sensor"], limit=2001)
ids = [e.id for e in page]
assert len(ids) == 2001 and len(set(ids)) == 2001, len(ids)
assert ids == [f"urn:Sensor:{i:05d}" for i in range(2001)], ids[:3]
everything = cb.get_entity_list(entity_types=["Sensor"])
assert len(everything) == 2500
filtered = cb.get_entity_list(entity_types=["Sensor"], q="value>=100;ward==Chuo", limit=2001)
assert len(filtered) == 1200, len(filtered)
assert all(e.get_attribute("value").value >= 100 for e in filtered)
kv = cb.get_entity_list(entity_ids=["urn:Room:1"], response_format="keyValues")
assert kv[0].model_dump()["temperature"] == 21.5, kv
got = cb.get_entity(entity_id="urn:Room:1")
assert got.get_attribute("name").value == "Kitchen"

# update: value, attribute, append
cb.update_attribute_value(entity_id="urn:Room:1", attr_name="temperature", value=25)
cb.update_entity_attribute(entity_id="urn:Room:1",
                           attr=NamedContextAttribute(name="name", type="Text", value="Living"))
room.add_attributes([NamedContextAttribute(name="humidity", type="Number", value=40)])
cb.update_entity(entity=room)
got = cb.get_entity(entity_id="urn:Room:1", entity_type="Room")
assert got.get_attribute("temperature").value == 21.5  # update_entity re-sent the old value
assert got.get_attribute("name").value == "Kitchen"
assert got.get_attribute("humidity").value == 40
cb.update_attribute_value(entity_id="urn:Room:1", attr_name="temperature", value=26)
assert cb.get_attribute_value(entity_id="urn:Room:1", attr_name="temperature") == 26
cb.update_existing_entity_attributes(
    entity_id="urn:Room:1", entity_type="Room",
    attrs=[NamedContextAttribute(name="humidity", type="Number", value=41)])
assert cb.get_entity(entity_id="urn:Room:1").get_attribute("humidity").value == 41
types = cb.get_entity_types()
assert {t["type"] for t in types} == {"Room", "Sensor"}, types

# delete: one entity, then a batch
cb.delete_entity(entity_id="urn:Room:1", entity_type="Room")
try:
    cb.get_entity(entity_id="urn:Room:1")
except Exception as exc:
    assert getattr(exc, "response", None) is not None and exc.response.status_code == 404
else:
    raise AssertionError("deleted entity still there")
cb.update(entities=[ContextEntity(id=s.id, type=s.type) for s in sensors[:500]],
          action_type="delete")
assert len(cb.get_entity_list(entity_types=["Sensor"])) == 2000
print("OK")
'''


def test_filip_creates_queries_updates_and_deletes(broker):
    out = run_filip_script(SCRIPT, broker.url)
    assert out.strip().endswith("OK")
