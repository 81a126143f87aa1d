"""Every use of a library's private or undocumented API, listed once and checked against it.

`USES` is the one list. Each entry has a check below that fails loudly, naming the library,
its installed version and the attribute, when an upgrade removes or changes what the service
relies on. pyproject.toml bounds each of these libraries below its next major version (0.x
ones, Flask-Login and pdfplumber, below their next minor; pdfplumber pins pdfminer.six).
`test_every_private_use_is_listed` reads the service's code, so a new private (underscore)
use fails here until it has its entry and check.

When a check fails after an upgrade: read the library's new code for that attribute, adapt the
module named in `used_in`, then update the check (and the fingerprint, for reportlab).
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import inspect
import os
import sys
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import flask
import pytest
import sqlalchemy
import wtforms
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf import FlaskForm
from pdfminer.pdfdevice import PDFTextDevice
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, IndirectObject, StreamObject
from reportlab.pdfbase import pdfdoc
from reportlab.pdfbase.ttfonts import TTFont, TTFontFace
from werkzeug.local import LocalProxy
from wtforms.csrf.core import CSRF, CSRFTokenField

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class PrivateUse:
    """One use of a library's API that the library does not promise to keep."""

    distribution: str  # as pip names it ("python" for the standard library)
    attribute: str  # the class or module, then the attribute, as the service uses it
    used_in: str  # the service's module, relative to the repository
    why: str
    documented: bool = False  # an underscore name the library documents (kept for the scan)


USES = (
    PrivateUse(
        "Flask-Limiter",
        "LimitManager._default_limits",
        "forms_service/web/extensions.py",
        "ViewLimiter refuses limits that only the removed per-request pass would check",
    ),
    PrivateUse(
        "Flask-Limiter",
        "LimitManager._application_limits",
        "forms_service/web/extensions.py",
        "as _default_limits",
    ),
    PrivateUse(
        "Flask-Limiter",
        "LimitManager._blueprint_limits",
        "forms_service/web/extensions.py",
        "as _default_limits",
    ),
    PrivateUse(
        "Flask-Limiter", "Limiter._meta_limits", "forms_service/web/extensions.py", "as above"
    ),
    PrivateUse(
        "Flask-Limiter",
        "Limiter._in_memory_fallback",
        "forms_service/web/extensions.py",
        "as above",
    ),
    PrivateUse(
        "Flask-Limiter",
        "Limiter._check_request_limit",
        "forms_service/web/extensions.py",
        "ViewLimiter removes this before_request hook (limits are checked on the views only)",
    ),
    PrivateUse(
        "reportlab",
        "TTFont._assignState",
        "forms_service/issuing/fonts.py",
        "CachedSubsetFont.addObjects re-does TTFont.addObjects with cached subset bytes",
    ),
    PrivateUse(
        "reportlab",
        "TTFont.addObjects",
        "forms_service/issuing/fonts.py",
        "CachedSubsetFont mirrors it (and TTFontFace.addSubsetObjects) object for object",
    ),
    PrivateUse(
        "reportlab",
        "pdfdoc.format",
        "forms_service/issuing/fonts.py",
        "_Formatted objects are written by reportlab's format(): element.format(document), "
        "__RefOnly__ for streams",
    ),
    PrivateUse(
        "pdfminer.six",
        "PDFTextDevice.render_char",
        "forms_service/pdfforms/objects.py",
        "_TextCollector overrides it to collect the text an appearance stream draws",
    ),
    PrivateUse(
        "pypdf",
        "PdfWriter._add_object",
        "forms_service/issuing/pdf_template.py",
        "the signed-token field is added as an indirect object (pypdf has no public call)",
    ),
    PrivateUse(
        "pypdf",
        "StreamObject._data",
        "forms_service/pdfforms/objects.py",
        "a FlateDecode stream's encoded bytes are inflated with a size limit before pypdf does",
    ),
    PrivateUse(
        "Flask-WTF",
        "FlaskForm.Meta.csrf_class",
        "forms_service/web/public/forms.py",
        "_LazyCSRF subclasses it (flask_wtf.csrf._FlaskFormCSRF) to give it the lazy token field",
    ),
    PrivateUse(
        "WTForms",
        "CSRFTokenField.process",
        "forms_service/web/public/forms.py",
        "_LazyTokenField replaces it: the token is signed when _value reads current_token",
    ),
    PrivateUse(
        "WTForms",
        "Field._value",
        "forms_service/definitions/input_widgets.py",
        "the inputs render the field's display value, as WTForms' own widgets do",
        documented=True,
    ),
    PrivateUse(
        "Werkzeug",
        "LocalProxy._get_current_object",
        "forms_service/web/backoffice/auth.py",
        "signed_in() checks the type of the user behind current_user",
        documented=True,
    ),
    PrivateUse(
        "SQLAlchemy",
        "Row._mapping",
        "forms_service/intake/online/queries.py",
        "rows of a Core select read by column key",
        documented=True,
    ),
    PrivateUse(
        "python",
        "os._exit",
        "forms_service/core/bounded.py",
        "a forked child ends without running the parent's cleanup",
        documented=True,
    ),
)

# reportlab code that forms_service/issuing/fonts.py mirrors: a change to it must be read.
MIRRORED = {
    "TTFont.addObjects": (TTFont.addObjects, "33ac8d69ad7fe232"),
    "TTFontFace.addSubsetObjects": (TTFontFace.addSubsetObjects, "94116bc4d9d93e71"),
    "TTFont._assignState": (TTFont._assignState, "e28b49906ab5e0e0"),
}


def _version(distribution: str) -> str:
    if distribution == "python":
        return sys.version.split()[0]
    return metadata.version(distribution)


def _limiter() -> tuple[Limiter, flask.Flask]:
    """Flask-Limiter as the service builds it, attached to a bare app."""
    app = flask.Flask(__name__)
    limiter = Limiter(key_func=get_remote_address, default_limits=[], storage_uri="memory://")
    limiter.init_app(app)
    return limiter, app


def _limit_manager_lists(name: str) -> Callable[[], None]:
    def check() -> None:
        value = getattr(_limiter()[0].limit_manager, name)
        assert isinstance(value, list | dict), f"is a {type(value).__name__}, not a collection"
        assert not value, "is not empty on a limiter built without limits"

    return check


def _limiter_lists(name: str) -> Callable[[], None]:
    def check() -> None:
        value = getattr(_limiter()[0], name)
        assert isinstance(value, list), f"is a {type(value).__name__}, not a list"
        assert not value, "is not empty on a limiter built without limits"

    return check


def _check_request_limit() -> None:
    limiter, app = _limiter()
    hook = limiter._check_request_limit
    assert hook in app.before_request_funcs[None], "is no longer the before_request hook"


def _assign_state() -> None:
    assert list(inspect.signature(TTFont._assignState).parameters)[:2] == ["self", "doc"]
    font = TTFont("DejaVuSans", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    doc = pdfdoc.PDFDocument()
    state = font._assignState(doc)
    assert font.state[doc] is state, "no longer keeps the state in TTFont.state[doc]"
    assert isinstance(state.subsets, list), "the state has no list of subsets"
    assert hasattr(state, "frozen"), "the state has no `frozen` flag"
    assert hasattr(font.face, "subfontNameX"), "the face has no subfontNameX"
    assert "BasicFonts" in doc.idToObject, "a document has no BasicFonts dictionary"


def _mirrored() -> None:
    changed = [
        name
        for name, (function, fingerprint) in MIRRORED.items()
        if hashlib.sha256(inspect.getsource(function).encode()).hexdigest()[:16] != fingerprint
    ]
    assert not changed, (
        f"changed {changed}: compare with CachedSubsetFont, then update MIRRORED's fingerprints"
    )


def _pdfdoc_format() -> None:
    source = inspect.getsource(pdfdoc.format)
    assert "element.format(document)" in source, "no longer calls element.format(document)"
    assert "__RefOnly__" in source, "no longer writes __RefOnly__ objects by reference"
    assert isinstance(pdfdoc.PDFObject, type), "PDFObject is no longer a class"


def _render_char() -> None:
    parameters = list(inspect.signature(PDFTextDevice.render_char).parameters)
    expected = ["self", "matrix", "font", "fontsize", "scaling", "rise", "cid", "ncs"]
    assert parameters == [*expected, "graphicstate"], f"takes {parameters}"


def _add_object() -> None:
    writer = PdfWriter()
    field = DictionaryObject()
    reference = writer._add_object(field)
    assert isinstance(reference, IndirectObject), "no longer returns an IndirectObject"
    assert reference.get_object() is field, "the reference does not lead to the object"


def _stream_data() -> None:
    stream = DecodedStreamObject()
    stream.set_data(b"BT (x) Tj ET")
    encoded = stream.flate_encode()
    assert isinstance(encoded, StreamObject)
    assert zlib.decompress(encoded._data) == b"BT (x) Tj ET", "is not the encoded bytes"


def _csrf_class() -> None:
    csrf_class = FlaskForm.Meta.csrf_class
    assert isinstance(csrf_class, type) and issubclass(csrf_class, CSRF), "is not a WTForms CSRF"
    for method in ("setup_form", "generate_csrf_token", "validate_csrf_token"):
        assert method in vars(csrf_class), f"no longer defines {method}"
    assert getattr(csrf_class, "field_class", None) is CSRFTokenField, (
        "no longer makes a CSRFTokenField"
    )


def _csrf_token_process() -> None:
    process = inspect.getsource(CSRFTokenField.process)
    assert "super().process(" in process, "no longer starts with the field's own process"
    assert "self.current_token = self.csrf_impl.generate_csrf_token(self)" in process, (
        "no longer signs the token into current_token"
    )
    assert "return self.current_token" in inspect.getsource(CSRFTokenField._value), (
        "_value no longer renders current_token"
    )


def _field_value() -> None:
    class Form(wtforms.Form):
        name = wtforms.StringField()

    assert Form(data={"name": "Lyon"}).name._value() == "Lyon"


def _current_object() -> None:
    target = object()
    assert LocalProxy(lambda: target)._get_current_object() is target


def _row_mapping() -> None:
    engine = sqlalchemy.create_engine("sqlite://")
    with engine.connect() as connection:
        row = connection.execute(sqlalchemy.text("SELECT 1 AS one")).one()
    engine.dispose()
    assert row._mapping["one"] == 1


def _os_exit() -> None:
    assert callable(os._exit)


CHECKS: dict[str, Callable[[], None]] = {
    "LimitManager._default_limits": _limit_manager_lists("_default_limits"),
    "LimitManager._application_limits": _limit_manager_lists("_application_limits"),
    "LimitManager._blueprint_limits": _limit_manager_lists("_blueprint_limits"),
    "Limiter._meta_limits": _limiter_lists("_meta_limits"),
    "Limiter._in_memory_fallback": _limiter_lists("_in_memory_fallback"),
    "Limiter._check_request_limit": _check_request_limit,
    "TTFont._assignState": _assign_state,
    "TTFont.addObjects": _mirrored,
    "pdfdoc.format": _pdfdoc_format,
    "PDFTextDevice.render_char": _render_char,
    "PdfWriter._add_object": _add_object,
    "StreamObject._data": _stream_data,
    "FlaskForm.Meta.csrf_class": _csrf_class,
    "CSRFTokenField.process": _csrf_token_process,
    "Field._value": _field_value,
    "LocalProxy._get_current_object": _current_object,
    "Row._mapping": _row_mapping,
    "os._exit": _os_exit,
}


@pytest.mark.parametrize("use", USES, ids=[use.attribute for use in USES])
def test_the_private_api_is_still_there(use: PrivateUse) -> None:
    try:
        CHECKS[use.attribute]()
    except (AssertionError, AttributeError, TypeError, KeyError) as exc:
        problem = str(exc).splitlines()[0]
    else:
        return
    pytest.fail(
        f"{use.distribution} {_version(use.distribution)}: {use.attribute} {problem}. "
        f"{use.used_in} relies on it ({use.why}): adapt it, then this entry.",
        pytrace=False,
    )


def test_every_listed_use_has_a_check() -> None:
    assert sorted(CHECKS) == sorted(use.attribute for use in USES)


# -- the scan: which private names the service's code touches --------------------------------


def _external_names(tree: ast.Module) -> set[str]:
    """Names a module imports from libraries (not from forms_service, ocr or itself)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] not in {"forms_service", "ocr", "__future__"}:
                names.update(alias.asname or alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(
                (alias.asname or alias.name).split(".")[0]
                for alias in node.names
                if alias.name.split(".")[0] not in {"forms_service", "ocr"}
            )
    return names


def _root_name(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _class_uses(path: Path, node: ast.ClassDef, external: set[str]) -> Iterator[str]:
    """Private names a class takes from a library base class (read, called or overridden)."""
    if not any(_root_name(base) in external for base in node.bases):
        return
    defined = {
        sub.attr
        for sub in ast.walk(node)
        if isinstance(sub, ast.Attribute) and isinstance(sub.ctx, ast.Store)
    }
    defined |= {
        sub.id
        for sub in ast.walk(node)
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store)
    }
    methods = {
        sub.name: sub
        for sub in node.body
        if isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    for sub in ast.walk(node):
        if (
            isinstance(sub, ast.Attribute)
            and isinstance(sub.ctx, ast.Load)
            and isinstance(sub.value, ast.Name)
            and sub.value.id in {"self", "cls"}
            and _is_private(sub.attr)
            and sub.attr not in defined
            and sub.attr not in methods
        ):
            yield sub.attr
    module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    cls = getattr(importlib.import_module(module), node.name)
    for name in methods:
        inherited = any(name in vars(base) for base in cls.__mro__[1:])
        if _is_private(name) and inherited:
            yield name


def _private_uses(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    external = _external_names(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.ctx, ast.Load)
            and _is_private(node.attr)
            and not (isinstance(node.value, ast.Name) and node.value.id in {"self", "cls"})
        ):
            found.add(node.attr)
        elif isinstance(node, ast.ClassDef):
            found.update(_class_uses(path, node, external))
    return found


def _sources() -> Iterator[Path]:
    for package in ("forms_service", "ocr"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def test_every_private_use_is_listed() -> None:
    """A private name the service's code takes from a library must be in USES.

    Compared by attribute name, not by module, so that moving a module does not break it.
    """
    listed = {use.attribute.rsplit(".", 1)[1] for use in USES}
    found: dict[str, list[str]] = {}
    for path in _sources():
        for name in _private_uses(path):
            found.setdefault(name, []).append(str(path.relative_to(ROOT)))
    unlisted = {name: where for name, where in sorted(found.items()) if name not in listed}
    assert not unlisted, f"private API used but not listed in USES: {unlisted}"
    stale = sorted(name for name in listed if _is_private(name) and name not in found)
    assert not stale, f"listed in USES but no longer used: {stale}"


@pytest.mark.parametrize("use", USES, ids=lambda use: f"{use.distribution}:{use.attribute}")
def test_each_use_names_the_module_that_makes_it(use: PrivateUse) -> None:
    """`used_in` is where to look when a check fails: it must still be that module."""
    module = Path(__file__).resolve().parents[2] / use.used_in
    assert module.is_file(), f"{use.used_in} is gone: name the module that uses {use.attribute}"
    assert use.attribute.rsplit(".", 1)[-1] in module.read_text(encoding="utf-8"), (
        f"{use.used_in} no longer uses {use.attribute}: name the module that does"
    )
