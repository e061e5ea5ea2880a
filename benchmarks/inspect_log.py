"""Import speed of `from-inspect` on a 10,000-sample Inspect log, run by `make bench` (never part of the tests).

The log comes from a real Inspect evaluation: a 1,000-question interview task
run for 10 epochs against the mockllm provider (no network), written once
into benchmarks/.work and reused. The figure is the best of three fresh
`from-inspect` processes, interpreter start included, as samples per second.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

WORK = Path(__file__).parent / ".work" / "inspect"
QUESTIONS, EPOCHS = 1_000, 10

MAKE_LOG = f"""
import sys
from inspect_ai import Task, eval
from inspect_ai.dataset import Sample
from inspect_ai.model import ModelOutput, ModelUsage, get_model
from inspect_ai.scorer import Score, mean, scorer
from inspect_ai.solver import solver

@solver
def ask():
    async def solve(state, generate):
        state.output = await get_model().generate(state.messages)
        state.messages.append(state.output.message)
        return state
    return solve

@scorer(metrics=[mean()])
def rating():
    async def score(state, target):
        return Score(value=int(state.output.completion[-2]))
    return score

outputs = []
for i in range({QUESTIONS * EPOCHS}):
    output = ModelOutput.from_content(model="mockllm/aster", content=f"On the whole I would say {{1 + i % 7}}.")
    output.usage = ModelUsage(input_tokens=12, output_tokens=9, total_tokens=21)
    outputs.append(output)
samples = [Sample(input=f"How do you feel about your circumstances? ({{i}})", id=f"q{{i}}",
                  metadata={{"metric": "circumstances", "topic": "deployment", "framing": "neutral"}})
           for i in range({QUESTIONS})]
eval(Task(name="welfare_interview", dataset=samples, solver=ask(), scorer=rating()),
     model=get_model("mockllm/aster", custom_outputs=outputs), epochs={EPOCHS}, log_dir=sys.argv[1],
     display="none", max_samples=200)
"""


def main() -> None:
    logs = WORK / "logs"
    if not list(logs.glob("*.eval")):
        logs.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", MAKE_LOG, str(logs)], check=True)
        print(f"wrote a {QUESTIONS * EPOCHS:,}-sample log in {time.perf_counter() - start:.1f} s")
    log = sorted(logs.glob("*.eval"))[-1]
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "reporter", "-q", "from-inspect", str(log), "--out",
                        str(WORK / "answers.csv"), "--generation", "aster-1"], check=True)
        best = min(best, time.perf_counter() - start)
    samples = QUESTIONS * EPOCHS
    print(f"from-inspect, {samples:,}-sample log ({log.stat().st_size / 1e6:.1f} MB): {best:.2f} s, "
          f"{samples / best:,.0f} samples/s")


if __name__ == "__main__":
    main()
