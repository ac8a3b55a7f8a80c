"""Admission: plug-ins the registry runs on create and update, before its single write.

`chain.py` holds the plug-in interface and the ordered list; each plug-in is a module
(`limitranger.py`, `quota/`). Add a plug-in by appending it in `chain.default_plugins`.
"""
