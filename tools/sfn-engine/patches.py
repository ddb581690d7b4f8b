"""The small patches LocalStack's Step Functions engine needs to run this project's definitions.

Each patch replaces one named attribute of the engine, pinned to the engine version in
Pipfile.lock. If that attribute is gone or no longer what the patch expects, ``apply()`` raises
``EnginePatchError`` with a one-line message instead of letting the executions run unpatched.

1. ``sagemaker-sync``: the engine refuses ``arn:aws:states:::sagemaker:createTransformJob.sync``
   (SageMaker has no optimised integration in it) even when the task is mocked. With a mocked
   task the engine returns the mocked value without calling anything, and that value is exactly
   what ``.sync`` returns (the DescribeTransformJob result of the finished job), so allowing the
   pattern for mocked SageMaker tasks is faithful (driver.py refuses to run a definition with an
   unmocked Task state, so no real call is ever attempted).
2. ``states-error-names``: the engine refuses error names starting with ``States.`` where a user
   gives one: as a mocked task error (a ``.sync`` job that ran and failed surfaces as
   ``States.TaskFailed``) and as a ``Fail`` state's ``ErrorPath`` result (this project's
   ``RunFailed`` re-raises the caught error). Both are what Step Functions does; the patch turns
   such names into the engine's own ``States.*`` error objects, so Retry and Catch match them as
   Step Functions does (``States.TaskFailed`` is not one of the retried SageMaker errors).
3. ``retry-clock``: a Retry waits real time in the engine (30 s and more for this project's
   SageMaker retries). The wait is recorded per execution instead of slept, so the tests can
   assert the backoff (interval, rate, jitter, max delay) without waiting for it.
4. ``wait-clock``: a Wait state waits real time too (a minute before a transient SageMaker error is
   tried again); the wait is recorded with the retry waits instead of slept.
5. ``jsonpath-cache`` (speed only): the engine parses every JSONPath anew, and the parser it uses
   builds its grammar tables on each parse (70 % of an execution's time here). Parsed paths are
   cached by their text; a parsed path is not changed by evaluating it, so results are the same.
6. ``mock-request``: Step Functions Local's mocked responses are fixed before the run, but some
   answers AWS gives name what the request sent: a ``.sync`` transform job answers with the
   ``TransformJobName`` of the attempt that was created (a name the definition derives from the
   execution name, the state's entered time and its retry count), and its failure's cause is that
   job's description. A mocked answer may say ``<request:Member>`` (``.`` between nested
   members) in a returned string or in a thrown cause; the patch fills in that member of the
   parameters the task state just sent (its ``TaskScheduled`` parameters), as AWS would. Nothing
   else of the mocked answer changes.
7. ``format-escapes``: ``States.Format`` fills its template with Python's ``str.format``, so a
   template with escaped braces (``\\{``, ``\\}``: literal braces, as Step Functions documents for
   the reserved characters ``{ } ' \\``) fails with a KeyError, and the escapes of ``'`` and
   ``\\`` stay in the result. The patch fills the template as Step Functions does: ``{}`` takes the
   next argument, a backslash makes the character after it literal. The project's notifications
   are JSON text built this way (their braces escaped).
8. ``parse-cache`` (speed only): the engine parses the whole definition anew for every execution
   (and once more when the state machine is created); its ANTLR parser is pure Python and took
   about 80 % of an execution's time here. The parse tree is cached by the definition's text and
   the engine's preprocessor builds fresh evaluation components from it for each execution, as
   before; neither the preprocessor nor the static analyser changes the tree (they only read it),
   and a definition with syntax errors is parsed, and refused, each time.
9. ``quote-escape``: Step Functions documents ``\\'`` as the escape of an apostrophe inside an
   intrinsic function's string literal; the engine's intrinsic lexer ends the literal there and
   silently drops the rest of the function, so ``States.Format('s3://b/fraud\\'s/{}', ...)``
   gives ``s3://b/fraud\\``. The patch hides each escaped apostrophe from the lexer (as an
   escaped private-use character) and gives the literal its apostrophe back once it is parsed,
   so the template reaches ``States.Format`` (patch 7) with ``\\'`` in it, as Step Functions
   reads it.

Patches 10-17 (map_patches.py, map_s3_patches.py) run this project's Distributed Map
(ItemProcessor Mode DISTRIBUTED):
10. ``map-fields``: the engine's grammar has no ``ItemBatcher`` (a definition with one is refused
   as invalid), and reads ``ToleratedFailurePercentage`` only as a number with a fraction (``5`` is
   refused; the States Language's schema takes an integer from 0 to 100, which this project
   writes). The patch takes ``ItemBatcher`` out of the text the engine parses, writes an integer
   percentage as ``5.0``, and hands each Map state's batcher, and which tolerated-failure fields it
   gives, to the Map Run (patch 11).
11. ``map-run``: Step Functions runs each item (each batch, with ``ItemBatcher``) as a child
   execution of its own: ItemSelector is applied to each item (``$$.Map.Item.Index``/``Value``),
   then items are grouped as ``{"Items": [...], "BatchInput": ...}`` (at most MaxItemsPerBatch),
   and the Map Run fails with ``States.ExceedToleratedFailureThreshold`` when the failed items
   (all the items of a failed batch) exceed ToleratedFailureCount or ToleratedFailurePercentage
   of all items (with neither given, one failure fails it). The engine ignores failed children
   (the Map succeeds with ``null`` for them; "TODO: add support for failure toleration fields"),
   has no batching, and shares one mock invocation counter between all children (the second
   child gets the mock's second answer). The patch replaces the Map Run: selection, batching, one
   child at a time in item order (MaxConcurrency changes no result), each child with its own
   context (``$$.Execution.Name`` is the child's), mock counter and recorded history, and the
   tolerance counted in items.
12. ``list-objects-pages``: the ItemReader ``s3:listObjectsV2`` reads one page only (1,000 keys)
   and hands S3's Contents entries over as they are; Step Functions lists every page and makes
   each object an item ``{"Etag", "Key", "LastModified" (epoch seconds), "Size",
   "StorageClass"}``. The patch follows ``NextContinuationToken`` and shapes the items so.
13. ``result-writer``: the engine's ResultWriter writes a ``manifest.json`` whose ResultFiles are
   empty ("TODO: generate result files"); Step Functions writes the children's executions, by
   status, to ``<Prefix>/<MapRun id>/SUCCEEDED_0.json`` and ``FAILED_0.json`` (a JSON array of
   {ExecutionArn, Input, Name, Output or Error/Cause, Status, StartDate, StopDate, ...}) and lists
   them (Key, Size) in the manifest. The patch writes them.
14. ``result-writer-input``: the engine evaluates the ResultWriter's Parameters (``Prefix.$``) on
   the Map's results; Step Functions evaluates them on the Map state's input. The patch gives them
   the state input.
15. ``mock-by-request``: a Step Functions Local mock answers each call by its number only, so one
   shard's job cannot fail while the others succeed. A mock may be ``{"ByRequest": [{"When":
   {"<member.path>": "<glob>"}, "Answer": <mocked response>}], "Otherwise": <mocked response>}``:
   each call takes the first answer whose When members (of the parameters the task sent) match
   their globs, else Otherwise, counting calls per chosen answer (per execution: a child counts
   its own). The engine without the patch answers Otherwise (driver.py writes it as the mock).
16. ``sdk-blob-text``: an ``aws-sdk`` task's blob member given as text (``s3:putObject``'s
   ``Body: "a,b"``) is JSON-encoded by the engine (the object holds ``"a,b"`` with the quotes);
   Step Functions sends text as it is (and a JSON value as its JSON text, as the engine does).
   The patch sends text as its bytes.
17. ``item-reader-failed``: a Map whose ItemReader cannot read its source (a missing object, a
   denied listing) fails in Step Functions with ``States.ItemReaderFailed``, which a Catch takes;
   the engine lets the S3 client's exception through, so the Catch gets no error name and the
   run's Fail state fails with ``States.Runtime``. The patch raises ``States.ItemReaderFailed``
   with the exception's text as its cause.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import re
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

ENGINE_VERSION = "2026.3.0"
_ASL = "localstack.services.stepfunctions.asl.component"
_TASK_SERVICE = f"{_ASL}.state.state_execution.state_task.service"


class EnginePatchError(RuntimeError):
    """The engine's internals moved: a patch no longer applies."""


def _module(patch: str, name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ImportError as error:
        raise EnginePatchError(f"engine patch {patch!r}: cannot import {name} ({error})") from None


def _attribute(patch: str, owner: Any, name: str, must_contain: str) -> Any:
    """The attribute to replace, checked to still be the code the patch was written against."""
    where = getattr(owner, "__name__", repr(owner))
    if not hasattr(owner, name):
        raise EnginePatchError(
            f"engine patch {patch!r}: {where}.{name} is gone "
            f"(patches are written for localstack-core {ENGINE_VERSION})"
        )
    value = getattr(owner, name)
    try:
        source = inspect.getsource(value)
    except (OSError, TypeError):
        source = ""
    if must_contain not in source:
        raise EnginePatchError(
            f"engine patch {patch!r}: {where}.{name} no longer contains {must_contain!r} "
            f"(patches are written for localstack-core {ENGINE_VERSION})"
        )
    return value


def _patch_sagemaker_sync() -> None:
    patch = "sagemaker-sync"
    unsupported = _module(patch, f"{_TASK_SERVICE}.state_task_service_unsupported")
    resource = _module(patch, f"{_TASK_SERVICE}.resource")
    cls = unsupported.StateTaskServiceUnsupported
    original = _attribute(
        patch, cls, "_assert_integration_pattern_is_supported", "callback procedure"
    )
    # The check runs before the engine knows whether the state is mocked: driver.py makes sure
    # every Task state is.
    sync = resource.ResourceCondition.Sync

    def assert_supported(self: Any) -> None:
        if self.resource.service_name == "sagemaker" and self.resource.condition == sync:
            return
        original(self)

    cls._assert_integration_pattern_is_supported = assert_supported


def _patch_states_error_names() -> None:
    patch = "states-error-names"
    states_error = _module(patch, f"{_ASL}.common.error_name.states_error_name")
    mocking = _module(patch, f"{_ASL}.state.state_execution.state_task.local_mock_eval_utils")
    fail = _module(patch, f"{_ASL}.state.state_fail.state_fail")
    from_name = states_error.StatesErrorName.from_name
    for module, function in ((mocking, "_eval_mocked_response_throw"), (fail, "StateFail")):
        _attribute(patch, module, function, "CustomErrorName(")
        custom = _attribute(patch, module, "CustomErrorName", "MUST NOT begin with the prefix")

        def error_name(name: str | None, _custom: Callable[..., Any] = custom) -> Any:
            if name is not None and name.startswith("States."):
                return from_name(name)  # raises for a States.* name Step Functions does not have
            return _custom(name)

        module.CustomErrorName = error_name


class _RecordingClock:
    """Stands in for the ``time`` module in the engine's retrier: waits are recorded, not slept."""

    def __init__(self, real: ModuleType) -> None:
        self._real = real
        self._local = threading.local()
        self.waits: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def sleep(self, seconds: float) -> None:
        key = threading.current_thread().name
        with self._lock:
            self.waits.setdefault(key, []).append(float(seconds))


CLOCK: _RecordingClock | None = None


def _patch_retry_clock() -> None:
    global CLOCK
    patch = "retry-clock"
    retrier = _module(patch, f"{_ASL}.common.retry.retrier_decl")
    _attribute(patch, retrier.RetrierDecl, "_eval_body", "time.sleep(")
    real = _attribute(patch, retrier, "time", "")
    CLOCK = _RecordingClock(real)
    retrier.time = CLOCK


def _patch_wait_clock() -> None:
    patch = "wait-clock"
    module = _module(patch, f"{_ASL}.state.state_wait.wait_function.wait_function")
    _attribute(patch, module.WaitFunction, "_wait_interval", "program_state_event.wait(")

    def wait_interval(self: Any, env: Any, wait_seconds: int) -> None:
        assert CLOCK is not None, "retry-clock is applied first"
        CLOCK.sleep(wait_seconds)

    module.WaitFunction._wait_interval = wait_interval


# The parameters the Task state being evaluated sent (its TaskScheduled parameters), per thread:
# patch 6 fills answers from them, patch 14 chooses an answer by them.
SENT = threading.local()

_REQUEST_MEMBER = re.compile(r"<request:([A-Za-z0-9.]+)>")


def _fill_request(value: Any, sent: dict[str, Any]) -> Any:
    """``value`` with every ``<request:Member>`` replaced by that member of ``sent``."""
    if isinstance(value, str):

        def member(match: re.Match[str]) -> str:
            found: Any = sent
            for part in match.group(1).split("."):
                found = found[part]  # a KeyError names a member the request did not send
            return str(found)

        return _REQUEST_MEMBER.sub(member, value)
    if isinstance(value, list):
        return [_fill_request(item, sent) for item in value]
    if isinstance(value, dict):
        return {key: _fill_request(item, sent) for key, item in value.items()}
    return value


def _patch_mock_request() -> None:
    patch = "mock-request"
    service = _module(patch, f"{_TASK_SERVICE}.state_task_service")
    mock_config = _module(patch, "localstack.services.stepfunctions.local_mocking.mock_config")
    cls = service.StateTaskService
    # The parameters reach the TaskScheduled event (_before_eval_execution), then the mocked
    # answer is evaluated, in the same thread, by _eval_execution.
    _attribute(patch, cls, "_eval_execution", "eval_local_mocked_response(env=env")
    before = _attribute(patch, cls, "_before_eval_execution", "TaskScheduled")
    evaluate = _attribute(patch, service, "eval_local_mocked_response", "LocalMockedResponseReturn")
    answer, thrown = mock_config.LocalMockedResponseReturn, mock_config.LocalMockedResponseThrow
    sent = SENT

    def before_eval_execution(
        self: Any, env: Any, resource_runtime_part: Any, raw_parameters: Any, state_credentials: Any
    ) -> None:
        sent.parameters = raw_parameters
        before(
            self,
            env=env,
            resource_runtime_part=resource_runtime_part,
            raw_parameters=raw_parameters,
            state_credentials=state_credentials,
        )

    def eval_mocked(env: Any, mocked_response: Any) -> None:
        parameters = getattr(sent, "parameters", None) or {}
        start, end = mocked_response.range_start, mocked_response.range_end
        if isinstance(mocked_response, answer):
            payload = _fill_request(mocked_response.payload, parameters)
            mocked_response = answer(start, end, payload)
        elif isinstance(mocked_response, thrown):
            cause = _fill_request(mocked_response.cause, parameters)
            mocked_response = thrown(start, end, mocked_response.error, cause)
        evaluate(env=env, mocked_response=mocked_response)

    cls._before_eval_execution = before_eval_execution
    service.eval_local_mocked_response = eval_mocked


def _patch_jsonpath_cache() -> None:
    patch = "jsonpath-cache"
    for name in (
        "localstack.services.stepfunctions.asl.utils.json_path",
        f"{_ASL}.common.path.result_path",
    ):
        module = _module(patch, name)
        parse = _attribute(patch, module, "parse", "def parse(")
        module.parse = functools.lru_cache(maxsize=4096)(parse)


def _patch_parse_cache() -> None:
    patch = "parse-cache"
    module = _module(patch, "localstack.services.stepfunctions.asl.parse.asl_parser")
    cls = module.AmazonStateLanguageParser
    _attribute(patch, cls, "parse", "program = preprocessor.visit(tree)")

    @functools.lru_cache(maxsize=256)
    def parse_tree(definition: str) -> Any:
        # The first half of the engine's own parse: the ANTLR tree, or its syntax errors.
        errors = module.SyntaxErrorListener()
        parser = module.ASLParser(
            module.CommonTokenStream(module.ASLLexer(module.InputStream(definition)))
        )
        parser.removeErrorListeners()
        parser.addErrorListener(errors)
        tree = parser.state_machine()
        if errors.errors:
            raise module.ASLParserException(errors=errors.errors)
        return tree

    def parse(definition: str) -> tuple[Any, Any]:
        tree = parse_tree(definition)
        return module.Preprocessor().visit(tree), tree

    cls.parse = staticmethod(parse)


def _fill_format(template: str, values: list[str]) -> str:
    """``States.Format``'s template filled as Step Functions does (see patch 7). The engine reads
    the definition's JSON string escapes only in part: JSON's ``\\\\`` (one backslash) reaches the
    template as two backslashes, so it is made one first."""
    template = template.replace("\\\\", "\\")
    out, index, i = [], 0, 0
    while i < len(template):
        char = template[i]
        if char == "\\" and i + 1 < len(template):
            out.append(template[i + 1])
            i += 2
        elif template.startswith("{}", i):
            out.append(values[index])
            index += 1
            i += 2
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _patch_format_escapes() -> None:
    # The engine has two States.Format implementations (parsed definitions use the second).
    patch = "format-escapes"
    functions = f"{_ASL}.intrinsic.function.statesfunction"
    generic = _module(patch, f"{functions}.generic.string_format").StringFormat
    _attribute(patch, generic, "_eval_body", "string_format.format(*values_str_repr)")
    states = _module(patch, f"{functions}.states_function_format").StatesFunctionFormat
    _attribute(patch, states, "_eval_body", "string_format.split(self._DELIMITER)")

    def generic_eval_body(self: Any, env: Any) -> None:
        self.argument_list.eval(env=env)
        args = env.stack.pop()
        env.stack.append(_fill_format(args[0], [generic._to_str_repr(v) for v in args[1:]]))

    def states_eval_body(self: Any, env: Any) -> None:
        self.argument_list.eval(env=env)
        args = [env.stack.pop() for _ in range(self.argument_list.size)][::-1]
        env.stack.append(_fill_format(args[0], [generic._to_str_repr(v) for v in args[1:]]))

    generic._eval_body = generic_eval_body
    states._eval_body = states_eval_body


# What an escaped apostrophe is while the intrinsic lexer reads the text (a private-use character:
# none of the project's definitions holds one).
_HIDDEN_QUOTE = "\ue000"
_HIDDEN_ESCAPE = "\\\\" + _HIDDEN_QUOTE
_ESCAPE_PAIR = re.compile(r"\\\\(\\\\|')")


def _patch_quote_escape() -> None:
    patch = "quote-escape"
    intrinsic = "localstack.services.stepfunctions.asl.parse.intrinsic"
    parser = _module(patch, f"{intrinsic}.intrinsic_parser").IntrinsicParser
    preprocessor = _module(patch, f"{intrinsic}.preprocessor").Preprocessor
    parse = _attribute(patch, parser, "parse", "ASLIntrinsicLexer(input_stream)")
    text_of_str = _attribute(patch, preprocessor, "_text_of_str", "inner_str[1:-1]")

    def hiding_parse(src: str) -> Any:
        # The lexer reads the definition's JSON text undecoded (see _fill_format): a backslash of
        # the definition is two here. Pairs are read left to right, so an escaped backslash
        # before a closing quote stays what it is.
        return parse(_ESCAPE_PAIR.sub(lambda m: m[0] if m[1] != "'" else _HIDDEN_ESCAPE, src))

    def restoring_text_of_str(parse_tree: Any) -> str:
        text: str = text_of_str(parse_tree)
        return text.replace(_HIDDEN_QUOTE, "'")

    parser.parse = staticmethod(hiding_parse)
    preprocessor._text_of_str = staticmethod(restoring_text_of_str)


def apply() -> None:
    from localstack import version

    if version.__version__ != ENGINE_VERSION:
        raise EnginePatchError(
            f"engine patches are written for localstack-core {ENGINE_VERSION}, "
            f"found {version.__version__}"
        )
    _patch_sagemaker_sync()
    _patch_states_error_names()
    _patch_retry_clock()
    _patch_wait_clock()
    _patch_mock_request()
    _patch_jsonpath_cache()
    _patch_format_escapes()
    _patch_quote_escape()
    _patch_parse_cache()
    import map_patches  # patches 10-17 (the Distributed Map); 10 wraps parse-cache's parse

    map_patches.apply()
