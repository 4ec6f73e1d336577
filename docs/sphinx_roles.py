"""Griffe extension for the API reference: ganzoo's docstrings cross-reference with reST roles.

Markdown would print a role such as :meth:`generate` as it is. Each one becomes inline code that links
to the object's entry when the reference shows it: an optional autoref, which stays plain
code (and raises no warning) for objects the reference leaves out, such as private helpers
or torch's functions. As in Sphinx, ``~`` shows the last name only and functions get ``()``.
"""
from __future__ import annotations

import html
import re

import griffe

ROLE = re.compile(r":(class|meth|func|attr|data|mod|obj|exc):`(~?)([\w.]+)`")


def _identifier(obj: griffe.Object, role: str, name: str) -> str:
    """The canonical path ``name`` means where ``obj``'s docstring says it, else ``name`` as written."""
    head, _, rest = name.partition(".")
    found = None
    if role in ("meth", "attr", "obj"):  # members, inherited ones too, of the enclosing classes
        scope = obj
        while scope is not None and found is None:
            if scope.is_class and head in scope.all_members:
                member = scope.all_members[head]
                found = member.target_path if member.is_alias else member.path
            scope = scope.parent
    if found is None:
        try:  # functions, classes and data: in the module's scope, not a class's attribute of the same name
            found = (obj if role in ("meth", "attr", "obj") else obj.module).resolve(head)
        except (griffe.NameResolutionError, griffe.AliasResolutionError):
            found = head
    path = f"{found}.{rest}" if rest else found
    # the canonical path, under which the reference registers what it shows; a bare public name
    # (``GANModule.fixed_latents`` where the module does not import it) is taken from ``ganzoo``
    for candidate in (path, f"{obj.package.name}.{path}"):
        try:
            return obj.modules_collection[candidate].canonical_path
        except (KeyError, ValueError, griffe.AliasResolutionError, griffe.CyclicAliasError):
            continue
    return path


def _link(obj: griffe.Object, match: re.Match) -> str:
    role, short, name = match.groups()
    shown = name.rsplit(".", 1)[-1] if short else name
    if role in ("meth", "func"):
        shown += "()"
    identifier = html.escape(_identifier(obj, role, name), quote=True)
    return f'<autoref identifier="{identifier}" optional><code>{html.escape(shown)}</code></autoref>'


class SphinxRoles(griffe.Extension):
    def on_object(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None and ":" in obj.docstring.value:
            obj.docstring.value = ROLE.sub(lambda match: _link(obj, match), obj.docstring.value)
