"""This app's folder in the user's cache folder (`folder`), and the Python bytecode kept there (`bytecode`).

Standard library only, so that main.py can use it before it imports anything else of the app, and any layer below
(the bindings, the project reading) can use the folder without loading the engine.
"""
