"""dialplans/: the Asterisk files parse, and agree with each other, with the daemon and with the recordings.

- extensions_callcenter.conf passes asterisklint's ``dialplan-check`` (a real dialplan parser) without
  a single message, and uses only applications and functions of stock Asterisk (``modules-show``);
- queues.conf, manager.conf and pjsip.conf pass asterisklint's config reader, and the strict reader
  below (a line it does not understand, or a key given twice, is an error);
- the UserEvent contract: the table in dialplans/README.md == every UserEvent() of the dialplan ==
  the user events recorded from the lab's Asterisk 22 (tests/traces), and the dialplan sends every
  header callcenter/ami/translate.py reads;
- every Queue() names a queue of queues.conf and is followed by UserEvent(QueueResult);
- the AMI user reads exactly the daemon's default event classes and may write exactly what the
  daemon's actions need.

Each check is a function returning a list of problems; ``test_a_broken_copy_is_caught`` feeds it a
deliberately broken copy to show it can fail. asterisklint runs in a subprocess, so that its
import-time warnings cannot meet ``-W error``.
"""

from __future__ import annotations

import ast
import dataclasses
import gzip
import os
import re
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest

from callcenter.ami.codec import Decoder, Message
from callcenter.ami.translate import Rejected, Translator
from callcenter.config import AmiServer, load_settings
from callcenter.queues import events as ev

ROOT = Path(__file__).resolve().parent.parent
DIALPLANS = ROOT / "dialplans"
EXTENSIONS = "extensions_callcenter.conf"
QUEUES = "queues.conf"
MANAGER = "manager.conf"
PJSIP = "pjsip.conf"
CONF_FILES = (EXTENSIONS, QUEUES, MANAGER, PJSIP)
TRACES = ROOT / "tests" / "traces"

# asterisklint message classes silenced through ALINT_IGNORE, each with the reason it is a false
# positive. (An ALINT_IGNORE in the caller's environment is ignored.)
ALINT_IGNORE = {
    "H_DP_GENERAL_MISPLACED": "the file is #included by the site's extensions.conf, which has the [general]",
    "H_DP_GLOBALS_MISPLACED": "likewise [globals]: Asterisk would ignore a second one, the file sets none",
}

# -- reading Asterisk config files -------------------------------------------------------------------


class ConfSyntaxError(ValueError):
    """A line Asterisk's config reader would not take the way we mean it."""


# Keys that may repeat within one section; any other key given twice is an error.
MULTI_KEYS = frozenset(
    {"exten", "same", "include", "permit", "deny", "acl", "allow", "disallow", "match", "member"}
    | {"contact", "eventfilter", "setvar"}
)
_SECTION = re.compile(r"\[([^\]\s]+)\](?:\(([^)]*)\))?")
_ENTRY = re.compile(r"([A-Za-z0-9_.-]+)\s*(=>|=)\s*(.*)")


@dataclass
class Section:
    name: str
    line: int
    template: str  # what follows the name in "[name](...)": "" when nothing
    entries: list[tuple[str, str, int]] = field(default_factory=list)  # (key, value, line)

    def get(self, key: str) -> str | None:
        values = self.values(key)
        return values[0] if values else None

    def values(self, key: str) -> list[str]:
        return [v for k, v, _ in self.entries if k == key]

    def keys(self) -> set[str]:
        return {k for k, _, _ in self.entries}


def _strip_comment(line: str) -> str:
    """main/config.c: a ';' starts a comment unless escaped as '\\;'."""
    out = []
    i = 0
    while i < len(line):
        if line.startswith("\\;", i):
            out.append(";")
            i += 2
        elif line[i] == ";":
            break
        else:
            out.append(line[i])
            i += 1
    return "".join(out)


def parse_conf(text: str, name: str) -> list[Section]:
    sections: list[Section] = []
    for n, raw in enumerate(text.split("\n"), 1):
        if raw.lstrip().startswith(";--"):
            raise ConfSyntaxError(f"{name}:{n}: block comments (;-- --;) are not used in these files")
        line = _strip_comment(raw).strip()
        if not line:
            continue
        if line.startswith("#"):
            raise ConfSyntaxError(f"{name}:{n}: {line!r}: no #include/#exec in these files")
        if line.startswith("["):
            m = _SECTION.fullmatch(line)
            if m is None:
                raise ConfSyntaxError(f"{name}:{n}: expected [section] or [section](template), got {raw!r}")
            sections.append(Section(m[1], n, m[2] or ""))
            continue
        m = _ENTRY.fullmatch(line)
        if m is None:
            raise ConfSyntaxError(f"{name}:{n}: expected key=value or key => value, got {raw!r}")
        if not sections:
            raise ConfSyntaxError(f"{name}:{n}: {m[1]!r} before any [section]")
        section = sections[-1]
        if m[1] not in MULTI_KEYS and section.get(m[1]) is not None:
            raise ConfSyntaxError(f"{name}:{n}: {m[1]!r} given twice in [{section.name}]")
        section.entries.append((m[1], m[3].strip(), n))
    return sections


def split_args(data: str) -> list[str]:
    """Application arguments: commas split them, except inside (), ${...} and $[...]."""
    args, depth, current = [], 0, []
    for ch in data:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            args.append("".join(current))
            current = []
        else:
            current.append(ch)
    args.append("".join(current))
    return args


@dataclass(frozen=True)
class Step:
    """One priority of the dialplan."""

    context: str
    exten: str
    prio: int
    label: str
    app: str
    data: str
    line: int

    @property
    def args(self) -> list[str]:
        return split_args(self.data)


def dialplan_steps(sections: list[Section]) -> list[Step]:
    steps: list[Step] = []
    for section in sections:
        if section.name in ("general", "globals"):
            continue
        exten, prio = "", 0
        for key, value, line in section.entries:
            if key == "include":
                continue
            if key == "exten":
                exten, prio_text, rest = ([*value.split(",", 2), "", ""])[:3]
                exten = exten.strip()
            elif key == "same" and exten:
                prio_text, rest = ([*value.split(",", 1), ""])[:2]
            else:
                raise ConfSyntaxError(f"{EXTENSIONS}:{line}: unexpected {key!r} in [{section.name}]")
            m = re.fullmatch(r"(\d+|n)(?:\((\w+)\))?", prio_text.strip())
            app = re.fullmatch(r"(\w+)\((.*)\)", rest.strip())
            if m is None or app is None:
                raise ConfSyntaxError(f"{EXTENSIONS}:{line}: expected <prio>,App(args), got {value!r}")
            prio = prio + 1 if m[1] == "n" else int(m[1])
            steps.append(Step(section.name, exten, prio, m[2] or "", app[1], app[2], line))
    return steps


@dataclass(frozen=True)
class UserEvent:
    step: Step
    name: str
    headers: tuple[tuple[str, str], ...]

    @property
    def header_names(self) -> list[str]:
        return [k for k, _ in self.headers]

    def value(self, header: str) -> str | None:
        return dict(self.headers).get(header)


def user_events(steps: Iterable[Step]) -> list[UserEvent]:
    events = []
    for step in steps:
        if step.app != "UserEvent":
            continue
        name, *body = step.args
        headers = []
        for part in body:
            key, sep, value = part.partition(":")
            if not sep:
                raise ConfSyntaxError(f"{EXTENSIONS}:{step.line}: UserEvent header without ':': {part!r}")
            headers.append((key.strip(), value.strip()))
        events.append(UserEvent(step, name.strip(), tuple(headers)))
    return events


@dataclass
class Files:
    """The texts of dialplans/ (a test may swap one for a broken copy) and what they parse to."""

    texts: dict[str, str]

    def sections(self, name: str) -> list[Section]:
        return parse_conf(self.texts[name], name)

    def section(self, name: str, section: str) -> Section:
        found = [s for s in self.sections(name) if s.name == section]
        assert len(found) == 1, f"{name}: expected one [{section}], got {len(found)}"
        return found[0]

    @property
    def steps(self) -> list[Step]:
        return dialplan_steps(self.sections(EXTENSIONS))

    @property
    def settings(self) -> dict[str, str]:
        """The Set(NAME=value) of [callcenter-settings]."""
        sets = (
            s.data.split("=", 1) for s in self.steps if s.context == "callcenter-settings" and s.app == "Set"
        )
        return {name: value for name, value in sets}

    @property
    def queue_names(self) -> set[str]:
        return {s.name for s in self.sections(QUEUES) if s.name != "general"}


def shipped() -> Files:
    return Files({name: (DIALPLANS / name).read_text(encoding="utf-8") for name in CONF_FILES})


# -- the UserEvent contract --------------------------------------------------------------------------

# Added by Asterisk to every channel-based UserEvent (the channel snapshot), not by the dialplan.
SNAPSHOT_HEADERS = frozenset({"Uniqueid", "Linkedid", "Channel", "CallerIDNum", "CallerIDName"})
# Lab-only scaffolding in the recordings, not part of the contract.
LAB_ONLY_EVENTS = frozenset({"TransferTarget"})
# The lab dialplan's UserEvent() lines (tests/traces/lab_extensions.conf), verbatim,
# and where ours may differ in value: the lab's driver fed the choice and the score.
LAB_USER_EVENTS = (
    'UserEvent(IVRChoice,Queue: support,Choice: ${IF($["${IVR_CHOICE}" = ""]?1:${IVR_CHOICE})},'
    "CallerNum: ${CALLERID(num)})",
    "UserEvent(QueueResult,Queue: support,QueueStatus: ${QUEUESTATUS},CallerNum: ${CALLERID(num)},"
    "MemberName: ${MEMBERNAME},QueueWait: ${QUEUEWAIT},AnsweredTime: ${ANSWEREDTIME})",
    "UserEvent(QueueResult,Queue: support-l2,QueueStatus: ${QUEUESTATUS},CallerNum: ${CALLERID(num)},"
    "MemberName: ${MEMBERNAME},QueueWait: ${QUEUEWAIT},AnsweredTime: ${ANSWEREDTIME})",
    "UserEvent(CSAT,Score: ${CSAT},Queue: ${QUEUENAME},MemberName: ${MEMBERNAME},"
    "CallerNum: ${CALLERID(num)})",
    "UserEvent(CallEnd,CallerNum: ${CALLERID(num)},QueueStatus: ${QUEUESTATUS},Abandoned: ${ABANDONED},"
    "MemberName: ${MEMBERNAME},HangupCause: ${HANGUPCAUSE})",
)
LAB_VALUES_MAY_DIFFER = {
    ("IVRChoice", "Queue"): "the queue the choice leads to (the lab had one choice)",
    ("IVRChoice", "Choice"): "the digit read by the menu (the lab's driver set IVR_CHOICE)",
    ("CSAT", "Score"): "the digit read by the survey (the lab's driver set CSAT)",
    ("CSAT", "Queue"): "the queue of the call, set before each Queue() (the lab used QUEUENAME)",
}
LAB_DIALPLAN = TRACES / "lab_extensions.conf"  # the lab's extensions.conf, copied as recorded


def readme_contract(readme: str) -> dict[str, list[str]]:
    """The table of dialplans/README.md: UserEvent name -> its header names, in order."""
    contract = {}
    for line in readme.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and (m := re.fullmatch(r"`(\w+)`", cells[0])):
            contract[m[1]] = [h.split(":")[0].strip() for h in re.findall(r"`([^`]+)`", cells[2])]
    return contract


def recorded_user_events() -> dict[str, set[tuple[str, ...]]]:
    """The header names of every UserEvent the lab's Asterisk sent, per event (small traces only)."""
    found: dict[str, set[tuple[str, ...]]] = {}
    for path in sorted(TRACES.glob("[a-m]_*.ami.gz")):
        for block in gzip.decompress(path.read_bytes()).split(b"\r\n\r\n"):
            if not block.startswith(b"Event: UserEvent\r\n"):
                continue
            names = [line.split(": ", 1)[0] for line in block.decode().split("\r\n")]
            kind = block.decode().split("\r\nUserEvent: ", 1)[1].split("\r\n", 1)[0]
            found.setdefault(kind, set()).add(tuple(names[names.index("UserEvent") + 1 :]))
    return found


@cache
def translate_reads() -> dict[str, frozenset[str]]:
    """The headers callcenter/ami/translate.py's _user_event reads, per UserEvent kind (from its source)."""
    tree = ast.parse((ROOT / "callcenter" / "ami" / "translate.py").read_text(encoding="utf-8"))
    (func,) = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "_user_event"]
    reads: dict[str, frozenset[str]] = {}
    for node in ast.walk(func):
        if not (isinstance(node, ast.If) and isinstance(node.test, ast.Compare)):
            continue
        (kind,) = [c.value for c in node.test.comparators if isinstance(c, ast.Constant)]
        headers = set()
        for call in ast.walk(ast.Module(body=node.body, type_ignores=[])):
            if not isinstance(call, ast.Call):
                continue
            callee = ast.unparse(call.func)
            literal = [a.value for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            if callee in ("m.get", "_req", "_int", "_number", "_seconds") and literal:
                headers.add(literal[0])
            elif callee == "_caller_num":
                headers.add("CallerIDNum")
            elif callee == "_caller_name":
                headers.add("CallerIDName")
        reads[kind] = frozenset(headers)
    return reads


def contract_problems(files: Files, contract: dict[str, list[str]]) -> list[str]:
    problems = []
    events = user_events(files.steps)
    for event in events:
        expected = contract.get(event.name)
        if expected is None:
            problems.append(f"line {event.step.line}: UserEvent {event.name!r} is not in README.md's table")
        elif event.header_names != expected:
            problems.append(
                f"line {event.step.line}: {event.name} headers {event.header_names}, README {expected}"
            )
    for name in sorted(set(contract) - {e.name for e in events}):
        problems.append(f"README.md's UserEvent {name!r} is never sent by the dialplan")
    return problems


def translate_problems(files: Files) -> list[str]:
    problems = []
    events = user_events(files.steps)
    for kind, reads in sorted(translate_reads().items()):
        needed = reads - SNAPSHOT_HEADERS
        sent = [e for e in events if e.name == kind]
        if not sent:
            problems.append(f"translate.py reads UserEvent {kind!r}; the dialplan never sends it")
        for event in sent:
            if missing := sorted(needed - set(event.header_names)):
                problems.append(f"line {event.step.line}: {kind} lacks {missing}, which translate.py reads")
    return problems


# -- queues ------------------------------------------------------------------------------------------


def _dialplan_var(files: Files, value: str) -> str:
    m = re.fullmatch(r"\$\{(\w+)\}", value)
    return files.settings.get(m[1], "") if m else value


def queue_problems(files: Files) -> list[str]:
    problems = []
    steps = files.steps
    queues = files.queue_names
    following = {(s.context, s.exten, s.prio): s for s in steps}
    used = set()
    for step in (s for s in steps if s.app == "Queue"):
        name, *args = step.args
        used.add(name)
        where = f"line {step.line}: Queue({name})"
        if name not in queues:
            problems.append(f"{where}: no such queue in queues.conf (queues: {sorted(queues)})")
            continue
        if len(args) > 4:
            problems.append(f"{where}: use only the first five arguments (they moved in Asterisk 21)")
        if "c" not in (args[0] if args else ""):
            problems.append(f"{where}: needs option c, or the caller never reaches the survey")
        timeout = _dialplan_var(files, args[3] if len(args) > 3 else "")
        ring = files.section(QUEUES, name)
        if not timeout.isdigit() or int(timeout) <= int(ring.get("timeout") or 0) + int(
            ring.get("retry") or 0
        ):
            problems.append(f"{where}: the caller's timeout {timeout!r} must exceed one ring and retry")
        after = following.get((step.context, step.exten, step.prio + 1))
        result = user_events([after]) if after else []
        if not result or result[0].name != "QueueResult":
            problems.append(f"{where}: the next priority must be UserEvent(QueueResult,...)")
        elif (result[0].value("Queue"), result[0].value("QueueStatus")) != (name, "${QUEUESTATUS}"):
            problems.append(f"{where}: its QueueResult must say Queue: {name},QueueStatus: ${{QUEUESTATUS}}")
    if unused := sorted(queues - used):
        problems.append(f"queues.conf queues no Queue() uses: {unused}")
    return problems


# Keys of queues.conf (configs/samples/queues.conf.sample of Asterisk 22, less the two added after 18:
# force_longest_waiting_caller, log-restricted-caller-id).
_QUEUE_KEYS = """
    persistentmembers enable_cidname_logging autofill monitor-type shared_lastcall negative_penalty_invalid
    log_membername_as_agent musicclass announce queue-callerannounce strategy servicelevel context
    penaltymemberslimit timeout retry timeoutpriority weight wrapuptime autopause autopausedelay autopausebusy
    autopauseunavail maxlen setinterfacevar setqueueentryvar setqueuevar membergosub announce-frequency
    min-announce-frequency periodic-announce-frequency periodic-announce-startdelay random-periodic-announce
    relative-periodic-announce announce-holdtime announce-position announce-to-first-user
    announce-position-limit announce-round-seconds announce-position-only-up queue-youarenext queue-thereare
    queue-callswaiting queue-quantity1 queue-quantity2 queue-holdtime queue-minute queue-minutes queue-seconds
    queue-thankyou queue-reporthold periodic-announce monitor-format joinempty leavewhenempty reportholdtime
    ringinuse memberdelay timeoutrestart defaultrule member
"""
KNOWN_QUEUE_KEYS = frozenset(_QUEUE_KEYS.split())
_QUEUE_INTEGERS = """timeout retry wrapuptime maxlen servicelevel weight memberdelay announce-frequency
    min-announce-frequency periodic-announce-frequency announce-round-seconds"""
QUEUE_INTEGERS = _QUEUE_INTEGERS.split()
QUEUE_MUST = {"setinterfacevar": "yes", "setqueuevar": "yes", "setqueueentryvar": "yes", "ringinuse": "no"}
QUEUE_MUST |= {"timeoutpriority": "app"}
_STRATEGIES = "ringall leastrecent fewestcalls random rrmemory rrordered linear wrandom"
STRATEGIES = frozenset(_STRATEGIES.split())
_EMPTY_FACTORS = (
    "paused penalty inuse ringing unavailable invalid unknown wrapup"  # joinempty, leavewhenempty
)
EMPTY_FACTORS = frozenset(_EMPTY_FACTORS.split())


def queues_conf_problems(files: Files) -> list[str]:
    problems = []
    sections = files.sections(QUEUES)
    general = [s for s in sections if s.name == "general"]
    if not general or general[0].get("autofill") != "yes":
        problems.append("[general] needs autofill=yes")
    for section in sections:
        where = f"queues.conf [{section.name}]"
        if section.template:
            problems.append(f"{where}: no templates (asterisklint's config reader cannot read them)")
        if unknown := sorted(section.keys() - KNOWN_QUEUE_KEYS):
            problems.append(f"{where}: unknown keys {unknown}")
        if section.name == "general":
            continue
        for key, value in QUEUE_MUST.items():
            if section.get(key) != value:
                problems.append(f"{where}: needs {key}={value}")
        if section.get("strategy") not in STRATEGIES:
            problems.append(
                f"{where}: strategy {section.get('strategy')!r} is not one of {sorted(STRATEGIES)}"
            )
        for key in QUEUE_INTEGERS:
            value = section.get(key)
            if value is None or not value.isdigit():
                problems.append(f"{where}: {key} must be set to a whole number, got {value!r}")
        if (section.get("servicelevel") or "0") == "0":
            problems.append(f"{where}: servicelevel must be > 0 (the daemon's 'within service level')")
        for key in ("joinempty", "leavewhenempty"):
            if not set((section.get(key) or "").split(",")) <= EMPTY_FACTORS:
                problems.append(f"{where}: {key} factors must be among {sorted(EMPTY_FACTORS)}")
    return problems


# -- the caller's contexts, agents and supervisors ---------------------------------------------------


def _destinations(step: Step) -> Iterator[tuple[str, str]]:
    """(context, exten) of a Goto/GotoIf/GotoIfTime/Gosub, when it names them literally."""
    if step.app in ("Goto", "Gosub"):
        targets = [step.data]
    elif step.app in ("GotoIf", "GotoIfTime"):
        targets = step.data.rsplit("?", 1)[1].split(":")
    else:
        return
    for target in targets:
        parts = split_args(target)
        if len(parts) == 3 and "$" not in parts[0]:
            yield parts[0], parts[1]
        elif len(parts) == 2:
            yield step.context, parts[0]


def caller_contexts(steps: list[Step]) -> set[str]:
    """The contexts a caller's channel can be in: from the trunk's, following every Goto (not Gosub)."""
    contexts = {s.context for s in steps}
    caller, todo = set(), ["callcenter-inbound"]
    while todo:
        context = todo.pop()
        if context in caller or context not in contexts:
            continue
        caller.add(context)
        todo += [c for s in steps if s.context == context and s.app != "Gosub" for c, _ in _destinations(s)]
    return caller


def flow_problems(files: Files) -> list[str]:
    problems = []
    steps = files.steps
    for context in sorted(caller_contexts(steps)):
        h = [s for s in steps if (s.context, s.exten, s.prio) == (context, "h", 1)]
        ends = h and (
            any(e.name == "CallEnd" for e in user_events(h))
            or any(
                e.name == "CallEnd"
                for c, x in _destinations(h[0])
                for e in user_events(s for s in steps if (s.context, s.exten) == (c, x))
            )
        )
        if not ends:
            problems.append(
                f"[{context}] (a caller's context) needs an h extension sending UserEvent(CallEnd)"
            )
        if any(s.app == "WaitExten" for s in steps if s.context == context):
            for exten in ("i", "t"):
                if not any(s.context == context and s.exten == exten for s in steps):
                    problems.append(f"[{context}] waits for digits, so it needs an {exten!r} extension")
    if spying := sorted(
        {s.context for s in steps if s.app in ("ChanSpy", "ExtenSpy")} - {"callcenter-supervisors"}
    ):
        problems.append(f"ChanSpy outside [callcenter-supervisors]: {spying}")
    includes = {s.name: s.values("include") for s in files.sections(EXTENSIONS)}
    if "callcenter-supervisors" in includes.get("callcenter-agents", []):
        problems.append("[callcenter-agents] must not include the supervisors' context")
    defined = {v for s in steps for v in re.findall(r"(?:^|Set\()(CC_\w+)=", s.data)}
    defined |= {s.args[0] for s in steps if s.app == "Read"}
    for step in steps:
        for name in sorted(set(re.findall(r"\$\{(CC_\w+)\}", step.data)) - defined):
            problems.append(
                f"line {step.line}: reads ${{{name}}}, which nothing sets (an empty prompt hangs up)"
            )
        login = re.fullmatch(r"callcenter-member,log(?:in|out),1\((.*)\)", step.data)
        if step.app == "Gosub" and login and login[1] not in files.queue_names:
            problems.append(f"line {step.line}: log in/out to {login[1]!r}, not a queue of queues.conf")
        if step.app == "PauseQueueMember" and not ([*step.args, "", "", ""])[3]:
            problems.append(f"line {step.line}: PauseQueueMember needs a reason (4th argument)")
    return problems


# -- manager.conf ------------------------------------------------------------------------------------

# The write class(es) of each AMI action: any one of them allows it, none means everybody may.
# main/manager.c __init_manager, e.g. ast_manager_register_xml_core("CoreShowChannels",
# EVENT_FLAG_SYSTEM | EVENT_FLAG_REPORTING, ...), and apps/app_queue.c load_module, e.g.
# ast_manager_register_xml("QueueStatus", 0, ...) and ("QueueAdd", EVENT_FLAG_AGENT, ...);
# process_message() allows an action when (writeperm & authority) or authority == 0.
# test_write_classes_match_the_recorded_asterisk checks it against ListCommands of Asterisk 22.
ACTION_WRITE: dict[str, frozenset[str]] = {
    "Login": frozenset(),
    "Logoff": frozenset(),
    "Challenge": frozenset(),
    "Ping": frozenset(),
    "Events": frozenset(),
    "QueueStatus": frozenset(),
    "CoreShowChannels": frozenset({"system", "reporting"}),
    "Status": frozenset({"system", "call", "reporting"}),
    "QueueAdd": frozenset({"agent"}),
    "QueueRemove": frozenset({"agent"}),
    "QueuePause": frozenset({"agent"}),
    "Originate": frozenset({"originate"}),
}
# Actions the agents' and supervisors' pages will send.
PLANNED_ACTIONS = frozenset({"Status", "QueueAdd", "QueueRemove", "QueuePause", "Originate"})
# Classes the daemon's user must never have: system also allows ModuleLoad, Reload, Filter, Hangup;
# command runs CLI commands, config rewrites files.
FORBIDDEN_WRITE = frozenset({"system", "command", "config", "all"})
# Keys main/manager.c's __init_manager reads ([general] less the TLS ones, and a user's section).
_MANAGER_GENERAL = """enabled webenabled port bindaddr timestampevents displayconnects authtimeout authlimit
    allowmultiplelogin channelvars httptimeout debug brokeneventsaction"""
_MANAGER_USER = (
    "secret deny permit acl read write writetimeout displayconnects allowmultiplelogin setvar eventfilter"
)
MANAGER_KEYS = {"general": frozenset(_MANAGER_GENERAL.split()), "user": frozenset(_MANAGER_USER.split())}
_ACTION_CALL = re.compile(r"(?:send_action|send_list_action|_login_step|_start)\(\s*(?:link,\s*)?\"(\w+)\"")


def daemon_actions() -> set[str]:
    """The AMI actions the daemon's code sends (the simulator is Asterisk's side, not the daemon's)."""
    found = set()
    for path in (ROOT / "callcenter").rglob("*.py"):
        if "simulator" not in path.parts:
            found |= set(_ACTION_CALL.findall(path.read_text(encoding="utf-8")))
    return found


def _classes(value: str | None) -> set[str]:
    return {c.strip() for c in (value or "").split(",") if c.strip()}


def manager_problems(files: Files, default_events: Iterable[str], actions: set[str]) -> list[str]:
    problems = []
    sections = files.sections(MANAGER)
    general = [s for s in sections if s.name == "general"]
    users = [s for s in sections if s.name != "general"]
    if not general:
        return ["manager.conf: no [general]"]
    for key, value in {"enabled": "yes", "timestampevents": "yes", "webenabled": "no"}.items():
        if general[0].get(key) != value:
            problems.append(f"manager.conf [general]: needs {key}={value}")
    if unknown := sorted(general[0].keys() - MANAGER_KEYS["general"]):
        problems.append(f"manager.conf [general]: unknown keys {unknown}")
    if [u.name for u in users] != ["callcenter"]:
        return [*problems, f"manager.conf: expected the one user [callcenter], got {[u.name for u in users]}"]
    user = users[0]
    if unknown := sorted(user.keys() - MANAGER_KEYS["user"]):
        problems.append(f"manager.conf [callcenter]: unknown keys {unknown}")
    if _classes(user.get("read")) != set(default_events):
        problems.append(
            f"read={user.get('read')}: must be the daemon's default events {sorted(default_events)}"
        )
    write = _classes(user.get("write"))
    if bad := sorted(write & FORBIDDEN_WRITE):
        problems.append(f"write= must not grant {bad}")
    for action in sorted(actions - set(ACTION_WRITE)):
        problems.append(f"the daemon sends {action!r}: add its write class to ACTION_WRITE and manager.conf")

    def lacking(granted: set[str]) -> list[str]:
        return [
            f"write= lacks {sorted(classes)} for {action}"
            for action in sorted(actions & set(ACTION_WRITE))
            if (classes := ACTION_WRITE[action] - FORBIDDEN_WRITE) and not classes & granted
        ]

    problems += lacking(write)
    if extra := sorted(c for c in write - FORBIDDEN_WRITE if not lacking(write - {c})):
        problems.append(f"write= grants {extra}, which no action of the daemon needs")
    acl = [(k, v) for k, v, _ in user.entries if k in ("deny", "permit", "acl")]
    if (
        not acl
        or acl[0] != ("deny", "0.0.0.0/0.0.0.0")
        or any(k != "permit" for k, _ in acl[1:])
        or len(acl) < 2
    ):
        problems.append("[callcenter]: first deny=0.0.0.0/0.0.0.0, then permit= each allowed host")
    if any(not v.endswith("/255.255.255.255") for k, v in acl[1:]):
        problems.append("[callcenter]: permit single hosts only (/255.255.255.255)")
    if not (user.get("writetimeout") or "").isdigit() or int(user.get("writetimeout") or 0) < 100:
        problems.append("[callcenter]: writetimeout must be >= 100 ms")
    if user.values("eventfilter"):
        problems.append("[callcenter]: no eventfilter (a wrong one drops events the daemon needs)")
    if not user.get("secret"):
        problems.append("[callcenter]: needs a secret")
    return problems


# -- pjsip.conf --------------------------------------------------------------------------------------

PJSIP_KEYS = {
    "transport": "protocol bind external_media_address external_signaling_address local_net",
    "endpoint": "context callerid auth aors outbound_auth disallow allow dtmf_mode direct_media "
    "rtp_symmetric force_rport rewrite_contact device_state_busy_at allow_subscribe from_domain language "
    "mailboxes",
    "auth": "auth_type username password",
    "aor": "max_contacts remove_existing qualify_frequency contact",
    "identify": "endpoint match",
    "registration": "outbound_auth server_uri client_uri contact_user retry_interval",
}
PHONE_CONTEXTS = frozenset({"callcenter-agents", "callcenter-supervisors"})


def pjsip_problems(files: Files) -> list[str]:
    problems = []
    by_type: dict[str, dict[str, Section]] = {}
    for section in files.sections(PJSIP):
        kind = section.get("type") or ""
        if kind not in PJSIP_KEYS:
            problems.append(f"pjsip.conf [{section.name}]: type {kind!r} is not one of {sorted(PJSIP_KEYS)}")
            continue
        if section.name in by_type.setdefault(kind, {}):
            problems.append(f"pjsip.conf [{section.name}]: two sections of type {kind}")
        by_type[kind][section.name] = section
        if unknown := sorted(section.keys() - {"type"} - set(PJSIP_KEYS[kind].split())):
            problems.append(f"pjsip.conf [{section.name}]: unknown {kind} keys {unknown}")
    contexts = {s.context for s in files.steps}
    for name, endpoint in by_type.get("endpoint", {}).items():
        where = f"pjsip.conf endpoint [{name}]"
        context = endpoint.get("context") or ""
        if context not in contexts:
            problems.append(f"{where}: context {context!r} is not in the dialplan")
        for key, kind in (("aors", "aor"), ("auth", "auth"), ("outbound_auth", "auth")):
            for ref in _classes(endpoint.get(key)):
                if ref not in by_type.get(kind, {}):
                    problems.append(f"{where}: {key}={ref}, no such {kind}")
        if context in PHONE_CONTEXTS:
            if not re.fullmatch(r"6\d{3}", name):
                problems.append(f"{where}: phones are 6XXX (the agents dial _6XXX)")
            if endpoint.get("device_state_busy_at") != "1":
                problems.append(f"{where}: needs device_state_busy_at=1 (a busy agent gets no queue call)")
            if not re.fullmatch(r"[^<]+ <\d+>", endpoint.get("callerid") or ""):
                problems.append(f"{where}: callerid 'Name <number>' (the name is the queue member name)")
            aor = by_type.get("aor", {}).get(name)
            if aor is None or aor.get("max_contacts") != "1":
                problems.append(f"{where}: needs an aor [{name}] with max_contacts=1")
        elif context != "callcenter-inbound":
            problems.append(f"{where}: context must be a phone context or callcenter-inbound (a trunk)")
    for name, identify in by_type.get("identify", {}).items():
        if identify.get("endpoint") not in by_type.get("endpoint", {}):
            problems.append(f"pjsip.conf identify [{name}]: no such endpoint {identify.get('endpoint')!r}")
    return problems


# -- asterisklint ------------------------------------------------------------------------------------

_ALINT_LINE = re.compile(r"(?P<file>.+?):(?P<line>\d+) (?P<code>[A-Z]_[A-Z0-9_]+): (?P<message>.*)")
_CONFIG_READER = """
import sys
from asterisklint import FileConfigParser
for path in sys.argv[1:]:
    parser = FileConfigParser()
    parser.include(path)
    list(parser)
"""


def _asterisklint_env(tmp_home: Path) -> dict[str, str]:
    env = dict(os.environ, ALINT_IGNORE=",".join(ALINT_IGNORE), PYTHONWARNINGS="ignore")
    env["HOME"] = str(tmp_home)  # asterisklint imports ~/.asterisklint overrides: not here
    return env


def run_asterisklint(args: list[str], tmp_home: Path) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("asterisklint")
    if not script.exists():
        pytest.fail("asterisklint is not installed: install the dev extra (pip install -e '.[dev]')")
    return subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        env=_asterisklint_env(tmp_home),
        timeout=60,
        check=False,
    )


def run_config_reader(paths: list[Path], tmp_home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _CONFIG_READER, *map(str, paths)],
        capture_output=True,
        text=True,
        env=_asterisklint_env(tmp_home),
        timeout=60,
        check=False,
    )


def lint_messages(result: subprocess.CompletedProcess[str]) -> list[str]:
    """Every line asterisklint printed; a line that is not a message is returned as it is."""
    return [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]


def lint_codes(messages: list[str]) -> set[str]:
    return {m["code"] for line in messages if (m := _ALINT_LINE.fullmatch(line))}


# -- the tests ---------------------------------------------------------------------------------------


def test_the_dialplan_passes_asterisklint(tmp_path: Path) -> None:
    result = run_asterisklint(["dialplan-check", str(DIALPLANS / EXTENSIONS)], tmp_path)
    assert lint_messages(result) == [] and result.returncode == 0


def test_the_dialplan_uses_only_stock_applications_and_functions(tmp_path: Path) -> None:
    result = run_asterisklint(["modules-show", str(DIALPLANS / EXTENSIONS)], tmp_path)
    assert result.returncode == 0 and "unknown" not in result.stdout, result.stdout + result.stderr
    assert "load => app_queue.so" in result.stdout  # it did read the dialplan


def test_the_other_files_pass_asterisklints_config_reader(tmp_path: Path) -> None:
    result = run_config_reader([DIALPLANS / name for name in (QUEUES, MANAGER, PJSIP)], tmp_path)
    assert lint_messages(result) == [] and result.returncode == 0


def test_every_file_parses_strictly() -> None:
    files = shipped()
    for name in CONF_FILES:
        assert files.sections(name), name
    assert len(files.steps) > 50
    assert {"callcenter-inbound", "callcenter-agents", "callcenter-supervisors"} <= {
        s.context for s in files.steps
    }


def test_the_readme_table_is_the_dialplans_user_events() -> None:
    contract = readme_contract((DIALPLANS / "README.md").read_text(encoding="utf-8"))
    assert set(contract) == {"QueueResult", "IVRChoice", "CSAT", "CallEnd", "CallbackRequest"}
    assert contract_problems(shipped(), contract) == []


def test_the_contract_is_what_the_lab_asterisk_sent() -> None:
    contract = readme_contract((DIALPLANS / "README.md").read_text(encoding="utf-8"))
    recorded = recorded_user_events()
    assert set(recorded) - LAB_ONLY_EVENTS == {"QueueResult", "IVRChoice", "CSAT", "CallEnd"}
    for name, header_lists in recorded.items():
        if name not in LAB_ONLY_EVENTS:
            assert header_lists == {tuple(contract[name])}, name


def test_header_values_keep_the_lab_dialplans_format() -> None:
    lab = user_events(
        Step("lab", "x", 1, "", "UserEvent", line[len("UserEvent(") : -1], 0) for line in LAB_USER_EVENTS
    )
    for ours in user_events(shipped().steps):
        if ours.name == "CallbackRequest":
            continue  # ours only
        # the lab's QueueResult lines differ by Queue only
        any_queue = ours.name != "QueueResult"
        (theirs,) = [
            e for e in lab if e.name == ours.name and (any_queue or e.value("Queue") == ours.value("Queue"))
        ]
        for (header, value), (_, their_value) in zip(ours.headers, theirs.headers, strict=True):
            if (ours.name, header) not in LAB_VALUES_MAY_DIFFER:
                assert value == their_value, (ours.step.line, header)


def test_the_copied_lab_lines_are_the_lab_dialplans() -> None:
    lab = [f"{s.app}({s.data})" for s in dialplan_steps(parse_conf(LAB_DIALPLAN.read_text(), "lab"))]
    assert set(LAB_USER_EVENTS) <= set(lab)


def test_the_dialplan_sends_every_header_translate_reads() -> None:
    assert {"QueueResult", "CSAT", "IVRChoice"} <= set(translate_reads())  # the AST walk found them
    assert "Score" in translate_reads()["CSAT"]
    assert translate_problems(shipped()) == []


# Values a call could give each dialplan expression, to play the dialplan's UserEvents to the daemon.
SAMPLE_VALUES = {
    "QUEUESTATUS": "CONTINUE",
    "CC_SCORE": "4",
    "MEMBERNAME": "Ana",
    "CALLERID(num)": "+5491155550001",
}


def _sample(value: str) -> str:
    return re.sub(r"\$\{([^}]*)\}", lambda m: SAMPLE_VALUES.get(m[1], "support"), value)


def test_the_daemon_translates_each_user_event_the_dialplan_sends() -> None:
    expected = {"QueueResult": ev.QueueStatusSet, "CSAT": ev.SurveyAnswered, "IVRChoice": ev.IvrChoiceMade}
    for event in user_events(shipped().steps):
        body = "".join(f"{k}: {_sample(v)}\r\n" for k, v in event.headers)
        raw = (
            "Event: UserEvent\r\nPrivilege: user,all\r\nChannel: PJSIP/trunk-carrier-00000001\r\n"
            "CallerIDNum: +5491155550001\r\nUniqueid: 1.1\r\nLinkedid: 1.0\r\n"
            f"UserEvent: {event.name}\r\n{body}\r\n"
        )
        (msg,) = Decoder().feed(raw.encode())
        assert isinstance(msg, Message)
        result = Translator().translate(msg, 0.0)
        assert not isinstance(result, Rejected), (event.name, result)
        if event.name in expected:
            assert isinstance(result, expected[event.name]), (event.name, result)


def test_every_queue_call_is_known_and_reported() -> None:
    assert queue_problems(shipped()) == []


def test_the_queues_have_the_settings_the_daemon_relies_on() -> None:
    assert queues_conf_problems(shipped()) == []


def test_the_example_config_names_these_queues_with_their_service_levels() -> None:
    """What must agree with config/callcenter.example.yaml: the queue names, servicelevel and the
    wrap-up (AMI does not report a queue's wrapuptime: README.md says to copy it to
    tracking.queues.<name>.wrapup_s)."""
    files = shipped()
    tracked = load_settings(ROOT / "config" / "callcenter.example.yaml").tracking.queues
    assert set(tracked) == files.queue_names
    for name, queue in tracked.items():
        assert queue.servicelevel_s == int(files.section(QUEUES, name).get("servicelevel") or 0), name
        assert queue.wrapup_s == int(files.section(QUEUES, name).get("wrapuptime") or 0), name


def test_callers_always_end_with_callend_and_only_supervisors_spy() -> None:
    assert caller_contexts(shipped().steps) == {
        "callcenter-inbound",
        "callcenter-ivr",
        "callcenter-afterhours",
        "callcenter-queue",
    }
    assert flow_problems(shipped()) == []


def test_the_ami_user_has_least_privilege() -> None:
    actions = daemon_actions()
    assert {"Login", "Ping", "QueueStatus", "CoreShowChannels"} <= actions  # the scan works
    default_events = next(f.default for f in dataclasses.fields(AmiServer) if f.name == "events")
    assert isinstance(default_events, tuple)
    assert manager_problems(shipped(), default_events, actions | PLANNED_ACTIONS) == []


def test_write_classes_match_the_recorded_asterisk() -> None:
    """ListCommands of the lab's Asterisk 22 lists each action's classes: '(Priv: agent,all)'."""
    text = gzip.decompress((TRACES / "actions_snapshot.ami.gz").read_bytes()).decode()
    listed = dict(re.findall(r"^(\w+): [^\r\n]*\(Priv: ([^)]*)\)\r?$", text, re.MULTILINE))
    for action, classes in ACTION_WRITE.items():
        assert action in listed, action
        assert _classes(listed[action].replace("<none>", "")) - {"all"} == classes, action


def test_the_phones_and_trunk_fit_the_dialplan() -> None:
    assert pjsip_problems(shipped()) == []


# -- each check can fail -----------------------------------------------------------------------------


def _mutated(name: str, old: str, new: str) -> Files:
    files = shipped()
    assert files.texts[name].count(old) == 1, f"{name}: the mutation's text must occur once: {old!r}"
    return dataclasses.replace(files, texts={**files.texts, name: files.texts[name].replace(old, new)})


def readme_modules() -> tuple[set[str], set[str]]:
    """The applications and functions README's module table covers, and the core built-ins."""
    text = (DIALPLANS / "README.md").read_text(encoding="utf-8")
    section = text.split("## Modules and sounds the dialplan needs", 1)[1].split("\n## ", 1)[0]
    covered: set[str] = set()
    for row in re.findall(r"^\| (\w+) \| (.*) \|$", section, re.M):
        covered |= {name.rstrip("()") for name in re.findall(r"\b[A-Z][A-Za-z_]+(?:\(\))?", row[1])}
    core = re.search(r"Built into Asterisk's core \(no module\): ([^.]*)\.", section)
    assert core is not None, "README: the list of core applications is missing"
    return covered, {name.strip() for name in core[1].replace("\n", " ").split(",")}


def module_problems(files: Files) -> list[str]:
    """Every application and function the dialplan uses has its module listed in the README
    (with autoload=no a missing one kills each call), and no Read() has a prompt (a missing
    prompt file makes Read() return at once, collecting nothing)."""
    covered, core = readme_modules()
    problems = []
    text = files.texts[EXTENSIONS]
    apps = {step.app for step in files.steps} | set(re.findall(r"\?(\w+)\(", text))
    functions = set(re.findall(r"\$\{([A-Z_]+)\(", text)) | set(re.findall(r"Set\(([A-Z_]+)\(", text))
    for name in sorted(apps - core - covered):
        problems.append(f"{EXTENSIONS}: application {name}: no module listed in README's module table")
    for name in sorted(functions - covered):
        problems.append(f"{EXTENSIONS}: function {name}(): no module listed in README's module table")
    for step in files.steps:
        if step.app == "Read" and len(step.args) > 1 and step.args[1].strip():
            problems.append(f"{EXTENSIONS}:{step.line}: Read() with a prompt ({step.args[1]}): play it first")
    return problems


def _all_problems(files: Files) -> list[str]:
    contract = readme_contract((DIALPLANS / "README.md").read_text(encoding="utf-8"))
    default_events = ("call", "agent", "user")
    return [
        *contract_problems(files, contract),
        *translate_problems(files),
        *queue_problems(files),
        *queues_conf_problems(files),
        *flow_problems(files),
        *manager_problems(files, default_events, set(ACTION_WRITE)),
        *pjsip_problems(files),
        *module_problems(files),
    ]


BROKEN = [
    # (file, text, replacement, a problem that must be reported)
    (EXTENSIONS, "Read(CC_SCORE,,1,,2,6)", "Read(CC_SCORE,${CC_PROMPT_CSAT},1,,2,6)", "Read() with a prompt"),
    (
        EXTENSIONS,
        "VoiceMail(${CC_MAILBOX},u)",
        "SayDigits(${CC_MAILBOX})",
        "application SayDigits: no module",
    ),
    (EXTENSIONS, "${LEN(${FILTER(12345,", "${STRLEN(${FILTER(12345,", "function STRLEN(): no module"),
    (EXTENSIONS, "Choice: 1,CallerNum", "Choice: 1,CallerIDNum", "IVRChoice headers"),
    (EXTENSIONS, "IVRChoice,Queue: support,Choice: 3,", "IVRChoice,Queue: support,", "lacks ['Choice']"),
    (EXTENSIONS, "UserEvent(CSAT,Score", "UserEvent(Csat,Score", "'Csat' is not in README"),
    (EXTENSIONS, "Queue(support,tc,,,", "Queue(suport,tc,,,", "no such queue"),
    (EXTENSIONS, "Queue(support-l2,tc,,,", "Queue(support-l2,t,,,", "needs option c"),
    (EXTENSIONS, "CC_L1_TIMEOUT=120", "CC_L1_TIMEOUT=10", "must exceed one ring"),
    (EXTENSIONS, " same => n,Set(CC_PROMPT_SORRY=custom/callcenter-sorry)\n", "", "${CC_PROMPT_SORRY}"),
    (
        EXTENSIONS,
        "\n same => n,UserEvent(QueueResult,Queue: support,",
        "\n same => n,NoOp(QueueResult,Queue: support,",
        "next priority must be UserEvent(QueueResult",
    ),
    (
        EXTENSIONS,
        "Queue: support-l2,QueueStatus: ${QUEUESTATUS}",
        "Queue: support,QueueStatus: x",
        "must say",
    ),
    (
        EXTENSIONS,
        "exten => t,1,Goto(callcenter-queue,voicemail,1)\n\nexten => h,1,Gosub(callcenter-callend,s,1)",
        "exten => t,1,Goto(callcenter-queue,voicemail,1)",
        "[callcenter-afterhours] (a caller's context) needs an h",
    ),
    (EXTENSIONS, "exten => i,1,Goto(callcenter-queue,voicemail,1)\n", "", "needs an 'i' extension"),
    (
        EXTENSIONS,
        "exten => _6XXX,1,NoOp(",
        "exten => _*2XXXX,1,ChanSpy(,q)\nexten => _6XXX,1,NoOp(",
        "ChanSpy",
    ),
    (EXTENSIONS, "login,1(support-l2)", "login,1(support-l3)", "not a queue of queues.conf"),
    (QUEUES, "setqueuevar=yes\n; QEHOLDTIME", "setqueuevar=no\n; QEHOLDTIME", "needs setqueuevar=yes"),
    (QUEUES, "strategy=ringall", "strategy=roundrobin", "strategy 'roundrobin'"),
    (QUEUES, "servicelevel=30", "servicelevel=0", "servicelevel must be > 0"),
    (QUEUES, "[support-l2]\n", "[support-l2]\neventwhencalled=yes\n", "unknown keys ['eventwhencalled']"),
    (QUEUES, "[support-l2]\n", "[support-l3]\n", "queues no Queue() uses: ['support-l3']"),
    (MANAGER, "read=call,agent,user", "read=call,agent", "must be the daemon's default events"),
    (MANAGER, "write=reporting,agent,originate", "write=all", "must not grant ['all']"),
    (
        MANAGER,
        "write=reporting,agent,originate",
        "write=reporting,agent",
        "lacks ['originate'] for Originate",
    ),
    (MANAGER, "write=reporting,agent,originate", "write=reporting,agent,originate,call", "grants ['call']"),
    (MANAGER, "timestampevents=yes", "timestampevents=no", "needs timestampevents=yes"),
    (MANAGER, "permit=127.0.0.1/255.255.255.255", "permit=10.0.0.0/255.0.0.0", "single hosts"),
    (MANAGER, "writetimeout=5000\n", "writetimeout=5000\neventfilter=!Event: Hangup\n", "no eventfilter"),
    (
        PJSIP,
        "context=callcenter-supervisors\ncallerid",
        "context=callcenter-sup\ncallerid",
        "not in the dialplan",
    ),
    (PJSIP, "aors=6002", "aors=6020", "no such aor"),
    (PJSIP, "callerid=Bruno <6002>", "callerid=6002", "callerid 'Name <number>'"),
    (PJSIP, "endpoint=trunk-carrier\n", "endpoint=trunk-carier\n", "no such endpoint"),
]


@pytest.mark.parametrize(("name", "old", "new", "expected"), BROKEN)
def test_a_broken_copy_is_caught(name: str, old: str, new: str, expected: str) -> None:
    problems = _all_problems(_mutated(name, old, new))
    assert any(expected in p for p in problems), problems


def test_the_shipped_files_have_no_problem_at_all() -> None:
    assert _all_problems(shipped()) == []


@pytest.mark.parametrize(
    "text",
    [
        "[support]\nmaxlen 20\n",
        "strategy=ringall\n",
        "[support\n",
        "[q]\nmaxlen=1\nmaxlen=2\n",
        "#include x.conf\n",
    ],
)
def test_the_strict_reader_rejects_bad_syntax(text: str) -> None:
    with pytest.raises(ConfSyntaxError):
        parse_conf(text, "bad.conf")


def test_asterisklint_reports_a_broken_dialplan(tmp_path: Path) -> None:
    text = (DIALPLANS / EXTENSIONS).read_text(encoding="utf-8")
    broken = tmp_path / EXTENSIONS
    broken.write_text(
        text.replace("n,Queue(support,tc,,,${CC_L1_TIMEOUT})", "n,Queu(support,tc,,,${CC_L1_TIMEOUT}")
        .replace("Goto(callcenter-queue,l2,1)", "Goto(callcenter-queue,l3,1)")
        .replace("${LEN(${FILTER(", "${LENN(${FILTER("),
        encoding="utf-8",
    )
    result = run_asterisklint(["dialplan-check", str(broken)], tmp_path)
    codes = lint_codes(lint_messages(result))
    assert {"E_APP_MISSING", "W_APP_BALANCE", "E_FUNC_MISSING", "W_DP_GOTO_CONTEXT_NOEXTEN"} <= codes
    assert result.returncode == 1
    shown = run_asterisklint(["modules-show", str(broken)], tmp_path)
    assert shown.returncode == 1 and "Queu" in shown.stdout and "LENN" in shown.stdout


def test_asterisklint_reports_a_broken_config_file(tmp_path: Path) -> None:
    broken = tmp_path / QUEUES
    broken.write_text((DIALPLANS / QUEUES).read_text(encoding="utf-8").replace("maxlen=20", "maxlen 20"))
    codes = lint_codes(lint_messages(run_config_reader([broken], tmp_path)))
    assert "E_CONF_BAD_LINE" in codes


def test_every_prompt_the_dialplan_plays_is_shipped_as_asterisk_plays_it() -> None:
    import wave

    names = re.findall(r"Set\(CC_PROMPT_\w+=custom/([\w-]+)\)", (DIALPLANS / EXTENSIONS).read_text())
    assert len(names) == 8
    for name in names:
        with wave.open(str(DIALPLANS / "sounds" / f"{name}.wav")) as w:  # format_wav: 8 kHz, mono, 16-bit
            assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2), name
            assert 0.5 < w.getnframes() / 8000 < 20, name  # a spoken sentence, not silence nor noise
