"""`python -m modelport`: the same commands as the `modelport` executable."""

from modelport.cli.main import main

if __name__ == "__main__":
    main()
