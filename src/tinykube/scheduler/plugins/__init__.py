"""In-tree scheduler plugins, one module each; `framework.default_framework` wires them up."""
