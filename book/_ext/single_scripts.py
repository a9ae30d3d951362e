"""Sphinx extension for this book: each script tag once per page.

Under Sphinx 7.4, inline scripts that extensions add once (sphinx-thebe's configuration, togglebutton's
selector) reach the page twice, once with filename None and once with '', so every page declared
`const THEBE_JS_URL` twice: a JavaScript SyntaxError in the browser."""


def _dedupe(app, pagename, templatename, context, doctree):
    seen, kept = set(), []
    for script in context.get("script_files", []):
        attributes = getattr(script, "attributes", {})
        key = (getattr(script, "filename", str(script)) or "", tuple(sorted((k, str(v)) for k, v in attributes.items())))
        if key not in seen:
            seen.add(key)
            kept.append(script)
    context["script_files"] = kept


def setup(app):
    app.connect("html-page-context", _dedupe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
