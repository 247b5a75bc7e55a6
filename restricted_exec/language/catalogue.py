"""The reviewed catalogue of modules a program may use, as data.

Every module a program can import is listed here with the exact attributes it
may read. Anything not listed is denied; the notable denials carry a reason
that the error message repeats. A module that is not in this catalogue can
never be allowed by name alone: a Policy may only narrow or widen the set of
catalogue modules it enables.

Review rules applied to every entry:
- no attribute is a module (``json.codecs``, ``datetime.sys``) unless it is a
  catalogue module itself, reached through its own proxy;
- no attribute hands out process-wide mutable state that would outlive a run
  (``calendar.mdays``, ``decimal.DefaultContext``) or changes the process
  (``time.tzset``, ``calendar.setfirstweekday``, ``enum.global_enum``);
- nothing evaluates strings as code (``typing.get_type_hints``,
  ``functools.singledispatch``) or walks attributes in C with a caller-chosen
  name (``operator.attrgetter`` is replaced by a guarded version);
- nothing writes to the real stdout (``calendar.prmonth``).
This module imports only the standard library, so the child process can load it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "CATALOGUE",
    "DEFAULT_MODULES",
    "DEFAULT_PRELOAD",
    "ModuleSpec",
    "denial_reason",
    "listing",
]


@dataclass(frozen=True, slots=True)
class ModuleSpec:
    """One catalogue module: what a program may read from it, and what it may not.

    Attributes:
        name: the module's import name.
        allowed: attribute names a program may read.
        denied: notable attributes a program may not read, with the reason.
        replaced: attributes served by a guarded replacement (see modules.py).
        per_run: the module keeps state a run may change (random's generator),
            so each run gets its own instance of that state.
    """

    name: str
    allowed: frozenset[str]
    denied: dict[str, str] = field(default_factory=dict)
    replaced: frozenset[str] = frozenset()
    per_run: bool = False


def _spec(
    name: str,
    allowed: str,
    denied: dict[str, str] | None = None,
    replaced: str = "",
    per_run: bool = False,
) -> ModuleSpec:
    replaced_names = frozenset(replaced.split())
    return ModuleSpec(
        name=name,
        allowed=frozenset(allowed.split()) | replaced_names,
        denied=denied or {},
        replaced=replaced_names,
        per_run=per_run,
    )


_SHARED_STATE = "a process-wide object shared with every later run (and the host in inline mode)"
_SUBMODULE = "an implementation submodule, not part of the reviewed catalogue"

CATALOGUE: dict[str, ModuleSpec] = {
    spec.name: spec
    for spec in [
        _spec(
            "math",
            "acos acosh asin asinh atan atan2 atanh cbrt ceil comb copysign cos cosh degrees "
            "dist e erf erfc exp exp2 expm1 fabs factorial floor fmod frexp fsum gamma gcd hypot "
            "inf isclose isfinite isinf isnan isqrt lcm ldexp lgamma log log10 log1p log2 modf "
            "nan nextafter perm pi pow prod radians remainder sin sinh sqrt tan tanh tau trunc ulp",
        ),
        _spec(
            "cmath",
            "acos acosh asin asinh atan atanh cos cosh e exp inf infj isclose isfinite isinf "
            "isnan log log10 nan nanj phase pi polar rect sin sinh sqrt tan tanh tau",
        ),
        _spec(
            "decimal",
            "Decimal Context DecimalTuple localcontext getcontext setcontext "
            "Clamped ConversionSyntax DecimalException DivisionByZero DivisionImpossible "
            "DivisionUndefined FloatOperation Inexact InvalidContext InvalidOperation Overflow "
            "Rounded Subnormal Underflow HAVE_CONTEXTVAR HAVE_THREADS MAX_EMAX MAX_PREC MIN_EMIN "
            "MIN_ETINY ROUND_05UP ROUND_CEILING ROUND_DOWN ROUND_FLOOR ROUND_HALF_DOWN "
            "ROUND_HALF_EVEN ROUND_HALF_UP ROUND_UP",
            denied={
                "DefaultContext": "the template for every new thread's context: " + _SHARED_STATE,
                "BasicContext": _SHARED_STATE + "; use decimal.Context(...) instead",
                "ExtendedContext": _SHARED_STATE + "; use decimal.Context(...) instead",
            },
        ),
        _spec("fractions", "Fraction Decimal"),
        _spec(
            "statistics",
            "NormalDist StatisticsError LinearRegression correlation covariance fmean "
            "geometric_mean harmonic_mean linear_regression mean median median_grouped "
            "median_high median_low mode multimode pstdev pvariance quantiles stdev variance",
        ),
        _spec(
            "random",
            "Random SystemRandom betavariate choice choices expovariate gammavariate gauss "
            "getrandbits getstate lognormvariate normalvariate paretovariate randbytes randint "
            "random randrange sample seed setstate shuffle triangular uniform vonmisesvariate "
            "weibullvariate",
            per_run=True,
        ),
        _spec(
            "datetime",
            "MAXYEAR MINYEAR UTC date datetime time timedelta timezone tzinfo",
            denied={"sys": "the interpreter's sys module", "datetime_CAPI": "a C-API capsule"},
        ),
        _spec(
            "calendar",
            "Calendar TextCalendar HTMLCalendar IllegalMonthError IllegalWeekdayError EPOCH "
            "MONDAY TUESDAY WEDNESDAY THURSDAY FRIDAY SATURDAY SUNDAY January February "
            "calendar day_abbr day_name firstweekday isleap leapdays month month_abbr "
            "month_name monthcalendar monthrange timegm week weekday weekheader error "
            "formatstring",
            denied={
                "mdays": "a module-level list: " + _SHARED_STATE,
                "setfirstweekday": "changes module-wide state: " + _SHARED_STATE,
                "c": "the module's shared calendar instance: " + _SHARED_STATE,
                "prcal": "writes to the process's real stdout; use print(calendar.calendar(y))",
                "prmonth": "writes to the process's real stdout; use print(calendar.month(y, m))",
                "prweek": "writes to the process's real stdout",
                "format": "writes to the process's real stdout",
                "main": "the command-line entry point",
                "LocaleTextCalendar": "switches the process-wide locale while it formats",
                "LocaleHTMLCalendar": "switches the process-wide locale while it formats",
                "different_locale": "switches the process-wide locale",
                "datetime": "a module reference; import datetime instead",
                "sys": "the interpreter's sys module",
            },
        ),
        _spec(
            "time",
            "time time_ns monotonic monotonic_ns perf_counter perf_counter_ns process_time "
            "process_time_ns thread_time thread_time_ns sleep gmtime localtime mktime strftime "
            "strptime asctime ctime struct_time timezone altzone daylight tzname get_clock_info "
            "CLOCK_BOOTTIME CLOCK_MONOTONIC "
            "CLOCK_MONOTONIC_RAW CLOCK_PROCESS_CPUTIME_ID CLOCK_REALTIME CLOCK_TAI "
            "CLOCK_THREAD_CPUTIME_ID",
            denied={
                "tzset": "changes the process's time zone",
                "clock_settime": "sets a system clock",
                "clock_settime_ns": "sets a system clock",
                "pthread_getcpuclockid": "exposes thread handles",
            },
            replaced="clock_gettime clock_gettime_ns clock_getres",
        ),
        _spec(
            "json",
            "dumps loads dump load JSONDecoder JSONEncoder JSONDecodeError detect_encoding",
            denied={
                "codecs": "the codecs module: " + _SUBMODULE,
                "decoder": _SUBMODULE,
                "encoder": _SUBMODULE,
                "scanner": _SUBMODULE,
            },
        ),
        _spec(
            "re",
            "escape purge error "
            "Pattern Match RegexFlag NOFLAG A ASCII DEBUG DOTALL I IGNORECASE L LOCALE M "
            "MULTILINE S T TEMPLATE U UNICODE VERBOSE X",
            denied={
                "enum": _SUBMODULE,
                "functools": _SUBMODULE,
                "copyreg": _SUBMODULE,
                "template": "deprecated and undocumented",
                "Scanner": "undocumented",
            },
            replaced="compile search match fullmatch split findall finditer sub subn",
        ),
        _spec(
            "string",
            "ascii_letters ascii_lowercase ascii_uppercase digits hexdigits octdigits printable "
            "punctuation whitespace capwords Template",
            denied={
                "Formatter": "its get_field() follows attribute and index paths inside "
                "format fields ('{0.__class__}'), which would bypass the attribute guard; "
                "use str.format, which restricted_exec makes safe",
            },
        ),
        _spec(
            "itertools",
            "accumulate batched chain combinations combinations_with_replacement compress count "
            "cycle dropwhile filterfalse groupby islice pairwise permutations product repeat "
            "starmap takewhile tee zip_longest",
        ),
        _spec(
            "functools",
            "reduce partial partialmethod cached_property cmp_to_key "
            "total_ordering WRAPPER_ASSIGNMENTS WRAPPER_UPDATES",
            replaced="wraps update_wrapper lru_cache cache",
            denied={
                "singledispatch": "resolves string annotations with eval()",
                "singledispatchmethod": "resolves string annotations with eval()",
                "RLock": "threads are not available to programs",
                "namedtuple": "use collections.namedtuple",
            },
        ),
        _spec(
            "collections",
            "ChainMap Counter OrderedDict UserDict UserList UserString defaultdict deque",
            replaced="namedtuple",
            denied={"abc": "collections.abc is not in the catalogue"},
        ),
        _spec(
            "heapq",
            "heapify heappop heappush heappushpop heapreplace merge nlargest nsmallest",
        ),
        _spec("bisect", "bisect bisect_left bisect_right insort insort_left insort_right"),
        _spec(
            "operator",
            "abs add and_ call concat contains countOf delitem eq floordiv ge getitem gt iadd "
            "iand iconcat ifloordiv ilshift imatmul imod imul index indexOf inv invert ior ipow "
            "irshift is_ is_not isub itemgetter itruediv ixor le length_hint lshift lt matmul "
            "mod mul ne neg not_ or_ pos pow rshift setitem sub truediv truth xor",
            replaced="attrgetter methodcaller",
        ),
        _spec(
            "dataclasses",
            "field fields asdict astuple replace is_dataclass FrozenInstanceError "
            "InitVar KW_ONLY MISSING Field",
            replaced="dataclass",
            denied={
                "make_dataclass": "builds a class from an arbitrary namespace, bypassing "
                "the checks on class bodies; write a @dataclass class instead",
            },
        ),
        _spec(
            "enum",
            "Enum IntEnum Flag IntFlag StrEnum ReprEnum auto unique verify member nonmember "
            "property EnumCheck FlagBoundary CONFORM CONTINUOUS EJECT KEEP NAMED_FLAGS STRICT "
            "UNIQUE",
            denied={
                "EnumMeta": "a metaclass: programs cannot define metaclasses",
                "EnumType": "a metaclass: programs cannot define metaclasses",
                "global_enum": "writes into the namespace of the module named by __module__",
            },
        ),
        _spec(
            "typing",
            "Any Annotated AnyStr Callable ClassVar Collection Container Counter DefaultDict "
            "Deque Dict Final FrozenSet Generator Generic Hashable Iterable Iterator List "
            "Literal Mapping MutableMapping MutableSequence MutableSet Never "
            "NewType NoReturn NotRequired Optional OrderedDict Protocol Required Reversible "
            "Self Sequence Set Sized SupportsAbs SupportsFloat SupportsIndex SupportsInt "
            "SupportsRound Text Tuple TypeAlias TypeGuard TypeVar TypedDict Union "
            "TYPE_CHECKING cast assert_never",
            replaced="NamedTuple final overload runtime_checkable",
            denied={
                "get_type_hints": "evaluates string annotations with eval()",
                "ForwardRef": "evaluates strings as code",
                "get_origin": "returns raw classes such as the metaclass type",
                "get_args": "returns raw classes such as the metaclass type",
                "Type": "stands for the metaclass type",
                "no_type_check": "mutates functions and classes it did not create",
            },
        ),
        _spec("textwrap", "TextWrapper dedent fill indent shorten wrap"),
    ]
}

DEFAULT_MODULES: frozenset[str] = frozenset(CATALOGUE)
"""Every catalogue module: what the default Policy lets programs import."""

DEFAULT_PRELOAD: tuple[str, ...] = ("math", "datetime", "json")
"""Modules bound as globals before the program starts, with no import needed."""


def denial_reason(module: str, attribute: str) -> str:
    """Say why ``module.attribute`` is not available, in words a person understands."""
    spec = CATALOGUE[module]
    reason = spec.denied.get(attribute)
    if reason is not None:
        return f"{module}.{attribute} is not available to programs: {reason}"
    if attribute.startswith("_"):
        return f"{module}.{attribute} is private to the module"
    return f"module {module!r} has no attribute {attribute!r} that programs may use"


def listing(modules: frozenset[str]) -> dict[str, object]:
    """What a program may import under a policy allowing ``modules``, as JSON-ready data:
    the preloaded modules, and each module's allowed attributes and notable denials."""
    return {
        "preloaded": [name for name in DEFAULT_PRELOAD if name in modules],
        "modules": {
            name: {
                "allowed": sorted(CATALOGUE[name].allowed),
                "denied": dict(sorted(CATALOGUE[name].denied.items())),
            }
            for name in sorted(modules)
            if name in CATALOGUE
        },
    }
