from __future__ import annotations

from leverage.python_reprs import first_python_repr


def test_the_first_python_object_text_is_found_with_where_it_is() -> None:
    config = {"//": {"metadata": "<cdktf.Foo object at 0x1>"},
              "resource": {"aws_sqs_queue": {"q": {"name": "ok", "tags": ["x", "bb-<jsii._reference_map.X object at 0xABC>"]}}}}
    assert first_python_repr(config) == ("resource.aws_sqs_queue.q.tags.1", "<jsii._reference_map.X object at 0xABC>")
    assert first_python_repr({"resource": {"aws_sqs_queue": {"q": {"name": "<not an object>", "n": 3}}}}) is None
