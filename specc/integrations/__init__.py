"""specc inside other tools: Pygments' ``cnn`` lexer (highlight, the
``pygments.lexers`` entry point) and IPython's ``%%specc`` cell magic (ipython,
loaded by ``%load_ext specc``). Each is imported only by the tool that asks."""
