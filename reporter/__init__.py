"""welfare-report: the model-welfare section of a system card, from self-report data.

Data flows one way, one module a stage:

    input files --inputs--> rows --store.merge--> history/ (store + manifest)
    history/ --history.load_history--> History --analyze--> Analysis
             --rules.apply_rules--> Findings --render--> html | fragment | pdf | json

`pipeline` chains the read, the analysis and the rules in one place; `cli`
turns options into one call and its result into output and an exit code.
"""

__version__ = "0.1.0"
