"""The Distributed Map patches (10-17 of patches.py's docstring), applied by ``patches.apply()``;
the Map's S3 side (its ItemReader and ResultWriter: 12, 13, 14, 17) is in map_s3_patches.py.

``CHILDREN`` keeps what each run's child executions did (driver.py reads it into the answer);
``BY_REQUEST`` holds the run's ``ByRequest`` mocks (set by driver.py for each run).
"""

from __future__ import annotations

import datetime
import fnmatch
import json
from dataclasses import dataclass, field
from typing import Any

from patches import _ASL, SENT, _attribute, _module

_MAP = f"{_ASL}.state.state_execution.state_map"
# Every child execution of the current run: {"map_run_arn", "name", "status", "error", "cause",
# "input", "output", "events", ...}, in the order they ran.
CHILDREN: list[dict[str, Any]] = []
# state name -> (list of (When, parsed answers), parsed Otherwise answers or None)
BY_REQUEST: dict[str, tuple[list[tuple[dict[str, str], list[Any]]], list[Any] | None]] = {}


@dataclass
class MapConfig:
    """What the engine's parser does not keep of a Distributed Map state."""

    batcher: dict[str, Any] | None = None
    tolerance: set[str] = field(default_factory=set)  # "count", "percentage": the fields given
    rewritten: bool = False  # an integer ToleratedFailurePercentage written as a float


def _map_configs(states: dict[str, Any]) -> dict[str, tuple[MapConfig, dict[str, Any]]]:
    """Each Map state of ``states`` (ItemBatcher taken out of it) -> (config, its inner States)."""
    found = {}
    for name, state in states.items():
        if not isinstance(state, dict) or state.get("Type") != "Map":
            continue
        config = MapConfig(batcher=state.pop("ItemBatcher", None))
        percentage = state.get("ToleratedFailurePercentage")
        if isinstance(percentage, int) and not isinstance(percentage, bool):
            state["ToleratedFailurePercentage"] = float(percentage)  # the grammar wants a dot
            config.rewritten = True
        for member, kind in (
            ("ToleratedFailureCount", "count"),
            ("ToleratedFailurePercentage", "percentage"),
        ):
            if member in state or f"{member}Path" in state:
                config.tolerance.add(kind)
        inner = (state.get("ItemProcessor") or state.get("Iterator") or {}).get("States", {})
        found[name] = (config, inner)
    return found


def _attach(program_states: Any, states: dict[str, Any]) -> None:
    for name, (config, inner) in _map_configs(states).items():
        state = program_states.states.get(name)
        if state is None:
            continue
        component = state.iteration_component
        component.sfn_map = config
        _attach(component._states, inner)


def patch_map_fields() -> None:
    patch = "map-fields"
    state_map = _module(patch, f"{_MAP}.state_map").StateMap
    _attribute(patch, state_map, "from_state_props", "state_props.get(ItemReader)")
    parser = _module(patch, "localstack.services.stepfunctions.asl.parse.asl_parser")
    cls = parser.AmazonStateLanguageParser
    parse = _attribute(patch, cls, "parse", "def parse(")

    def parse_keeping_map_config(definition: str) -> tuple[Any, Any]:
        try:
            document = json.loads(definition)
            states = document["States"]
            inner_states = _walk_states(states)
        except (ValueError, TypeError, KeyError, AttributeError):
            return parse(definition)  # type: ignore[no-any-return]  # the engine says what is wrong
        taken = [_map_configs(inner) for inner in inner_states]  # takes ItemBatcher out
        configs = [config for found in taken for config, _ in found.values()]
        if any(config.batcher is not None or config.rewritten for config in configs):
            definition_read = json.dumps(document)
        else:
            definition_read = definition
        program, tree = parse(definition_read)
        _attach(program.states, json.loads(definition)["States"])
        return program, tree

    cls.parse = staticmethod(parse_keeping_map_config)


def _walk_states(states: dict[str, Any]) -> list[dict[str, Any]]:
    found = [states]
    for state in states.values():
        if isinstance(state, dict):
            inner = (state.get("ItemProcessor") or state.get("Iterator") or {}).get("States")
            if isinstance(inner, dict):
                found.extend(_walk_states(inner))
    return found


def _batch_input(template: Any, data: Any) -> Any:
    """ItemBatcher's BatchInput: a payload template (``"key.$"`` JSONPath) on the state input."""
    from localstack.services.stepfunctions.asl.utils.json_path import extract_json

    if isinstance(template, dict):
        out = {}
        for key, value in template.items():
            if key.endswith(".$") and isinstance(value, str):
                out[key[:-2]] = extract_json(value, data)
            else:
                out[key] = _batch_input(value, data)
        return out
    if isinstance(template, list):
        return [_batch_input(item, data) for item in template]
    return template


def _now() -> str:
    return datetime.datetime.now(tz=datetime.UTC).isoformat()


def patch_map_run() -> None:
    patch = "map-run"
    component = _module(patch, f"{_MAP}.iteration.distributed_iteration_component")
    cls = component.DistributedIterationComponent
    _attribute(patch, cls, "_map_run", "job_pool.await_jobs()")
    states_mod = _module(patch, f"{_ASL.rsplit('.component', 1)[0]}.eval.states")
    events = _module(patch, f"{_ASL.rsplit('.component', 1)[0]}.eval.event.event_manager")
    program_state = _module(patch, f"{_ASL.rsplit('.component', 1)[0]}.eval.program_state")

    def selected(env: Any, eval_input: Any, index: int, item: Any, map_input: Any) -> Any:
        chooser = eval_input.item_selector or eval_input.parameters
        if chooser is None:
            return item
        frame = env.open_inner_frame()
        try:
            frame.states.context_object.context_object_data["Map"] = states_mod.MapData(
                Item=states_mod.ItemData(Index=index, Value=item)
            )
            frame.states.reset(input_value=map_input)
            frame.stack.append(map_input)
            chooser.eval(frame)
            return frame.stack.pop()
        finally:
            env.delete_frame(frame)

    def run_child(env: Any, program: Any, record: Any, index: int, value: Any) -> dict[str, Any]:
        name = f"{record.map_run_arn.rsplit(':', 1)[-1][:8]}-{index}"
        arn = f"{record.map_state_machine_arn.replace(':stateMachine:', ':execution:')}:{name}"
        child: dict[str, Any] = {"map_run_arn": record.map_run_arn, "name": name, "arn": arn}
        child.update(input=value, start=_now())
        frame = env.open_inner_frame()
        try:
            frame.next_local_mock_invocation_number = {}  # a child counts its own mocked calls
            frame.event_manager = events.EventManager()
            context = frame.states.context_object.context_object_data
            context["Execution"] = {
                **context["Execution"],
                "Id": arn,
                "Name": name,
                "Input": value,
                "StartTime": child["start"],
            }
            context["StateMachine"] = {
                "Id": record.map_state_machine_arn,
                "Name": record.map_state_machine_arn.rsplit(":", 1)[-1],
            }
            frame.states.reset(input_value=value)
            program.eval(frame)
            ended = frame.program_state()
            child["events"] = json.loads(
                json.dumps(frame.event_manager.get_event_history(), default=str)
            )
            if isinstance(ended, program_state.ProgramError):
                error = ended.error or {}
                child.update(status="FAILED", error=error.get("error"), cause=error.get("cause"))
                child["output"] = None
            elif isinstance(ended, program_state.ProgramEnded):
                child.update(status="SUCCEEDED", error=None, cause=None)
                child["output"] = frame.states.get_input()
            else:
                child.update(status=type(ended).__name__, error=None, cause=None, output=None)
        finally:
            env.delete_frame(frame)
        child["stop"] = _now()
        return child

    def map_run(self: Any, env: Any, eval_input: Any) -> None:
        items: list[Any] = env.stack.pop()
        map_input = env.stack[-1] if env.stack else env.states.get_input()
        config: MapConfig = getattr(self, "sfn_map", None) or MapConfig()
        record = eval_input.map_run_record
        values = [selected(env, eval_input, i, item, map_input) for i, item in enumerate(items)]
        jobs: list[tuple[Any, int]] = [(value, 1) for value in values]
        if config.batcher is not None:
            size = int(config.batcher.get("MaxItemsPerBatch") or len(values) or 1)
            batch_input = config.batcher.get("BatchInput")
            jobs = []
            for start in range(0, len(values), size):
                batch: dict[str, Any] = {"Items": values[start : start + size]}
                if batch_input is not None:
                    batch["BatchInput"] = _batch_input(batch_input, map_input)
                jobs.append((batch, len(batch["Items"])))
        program = self._get_iteration_program()
        failed_items, outputs = 0, []
        # One child at a time, in item order: the engine is one process, and the order of the
        # recorded requests stays the same from run to run (MaxConcurrency changes no result).
        for index, (value, count) in enumerate(jobs):
            record.item_counter.total.count(count)
            record.execution_counter.total.count()
            child = run_child(env, program, record, index, value)
            child["items"] = count
            CHILDREN.append(child)
            if child["status"] == "SUCCEEDED":
                record.item_counter.succeeded.count(count)
                record.execution_counter.succeeded.count()
            else:
                failed_items += count
                record.item_counter.failed.count(count)
                record.execution_counter.failed.count()
            outputs.append(child["output"])
        if _exceeds(config, eval_input, failed_items, len(values)):
            cause = "The specified tolerated failure threshold was exceeded"
            raise _map_run_failed(patch, env, "StatesExceedToleratedFailureThreshold", cause)
        env.stack.append(outputs)

    cls._map_run = map_run


def _exceeds(config: MapConfig, eval_input: Any, failed: int, total: int) -> bool:
    """Step Functions counts failed (or timed out) ITEMS, a failed batch failing all its items;
    with neither threshold given, one failure fails the Map Run."""
    if not failed:
        return False
    if not config.tolerance:
        return True
    over_count = "count" in config.tolerance and failed > eval_input.tolerated_failure_count
    percentage = failed * 100 / total if total else 0.0
    over_percentage = (
        "percentage" in config.tolerance and percentage > eval_input.tolerated_failure_percentage
    )
    return over_count or over_percentage


def _member(parameters: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(parameters, dict) or part not in parameters:
            return None
        parameters = parameters[part]
    return parameters


def _matches(when: dict[str, str], parameters: Any) -> bool:
    for path, glob in when.items():
        found = _member(parameters, path)
        if found is None or not fnmatch.fnmatchcase(str(found), glob):
            return False
    return True


def parse_answers(state: str, raw: dict[str, Any]) -> list[Any]:
    """A mocked response ({"0": {"Return": ...}, "1-2": {"Throw": ...}}), parsed by the engine."""
    from localstack.services.stepfunctions.local_mocking import mock_config
    from localstack.services.stepfunctions.local_mocking.mock_config_file import RawResponseModel

    answers = [
        mock_config._mocked_response_from_raw(span, RawResponseModel.model_validate(model))
        for span, model in raw.items()
    ]
    return mock_config.StateMockedResponses(state, state, answers).mocked_responses


def patch_mock_by_request() -> None:
    patch = "mock-by-request"
    environment = _module(patch, f"{_ASL.rsplit('.component', 1)[0]}.eval.environment")
    cls = environment.Environment
    original = _attribute(
        patch, cls, "get_current_local_mocked_response", "next_local_mock_invocation_number"
    )

    def current_mocked_response(self: Any) -> Any:
        state = self.next_state_name
        if state not in BY_REQUEST:
            return original(self)
        choices, otherwise = BY_REQUEST[state]
        parameters = getattr(SENT, "parameters", None) or {}
        picked = next(
            (
                (i, answers)
                for i, (when, answers) in enumerate(choices)
                if _matches(when, parameters)
            ),
            ("Otherwise", otherwise),
        )
        which, answers = picked
        if answers is None:
            raise RuntimeError(f"No ByRequest answer of state '{state}' matches {parameters}")
        counter = f"{state}\x00ByRequest\x00{which}"
        number = self.next_local_mock_invocation_number.get(counter, 0)
        self.next_local_mock_invocation_number[counter] = number + 1
        if number >= len(answers):
            raise RuntimeError(f"No ByRequest answer {which} of state '{state}' for call {number}")
        return answers[number]

    cls.get_current_local_mocked_response = current_mocked_response


def patch_sdk_blob_text() -> None:
    patch = "sdk-blob-text"
    service = _module(patch, f"{_ASL}.state.state_execution.state_task.service.state_task_service")
    cls = service.StateTaskService
    original = _attribute(patch, cls, "_to_boto_request_value", 'type_name == "blob"')

    def to_boto_request_value(self: Any, request_value: Any, value_shape: Any) -> Any:
        if getattr(value_shape, "type_name", None) == "blob" and isinstance(request_value, str):
            return request_value.encode()  # text is sent as it is; JSON values as JSON text
        return original(self, request_value, value_shape)

    cls._to_boto_request_value = to_boto_request_value


def _map_run_failed(patch: str, env: Any, error: str, cause: str) -> Exception:
    """The engine's failure of a Map Run with the ``States.*`` error ``error`` (the name of its
    ``StatesErrorNameType`` member) and ``cause``, as a Catch reads it."""
    failure = _module(patch, f"{_ASL}.common.error_name.failure_event")
    errors = _module(patch, f"{_ASL}.common.error_name.states_error_name")
    error_types = _module(patch, f"{_ASL}.common.error_name.states_error_name_type")
    details = _module(patch, f"{_ASL.rsplit('.component', 1)[0]}.eval.event.event_detail")
    from localstack.aws.api.stepfunctions import HistoryEventType, MapRunFailedEventDetails

    name = getattr(error_types.StatesErrorNameType, error)
    return failure.FailureEventException(  # type: ignore[no-any-return]
        failure_event=failure.FailureEvent(
            env=env,
            error_name=errors.StatesErrorName(typ=name),
            event_type=HistoryEventType.MapRunFailed,
            event_details=details.EventDetails(
                mapRunFailedEventDetails=MapRunFailedEventDetails(error=name.to_name(), cause=cause)
            ),
        )
    )


def apply() -> None:
    import map_s3_patches  # the Map's ItemReader and ResultWriter (reads CHILDREN, _map_run_failed)

    map_s3_patches.patch_item_reader_failed()
    patch_map_fields()
    patch_map_run()
    map_s3_patches.patch_list_objects_pages()
    map_s3_patches.patch_result_writer()
    map_s3_patches.patch_result_writer_input()
    patch_mock_by_request()
    patch_sdk_blob_text()
