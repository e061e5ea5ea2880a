from .cli import main

# Guarded: the chart workers start as fresh interpreters, which import this module under another name.
if __name__ == "__main__":
    main()
