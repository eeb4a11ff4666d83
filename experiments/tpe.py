#!/usr/bin/python3
"""experiments/tpe.py - Optuna's TPE sampler (Debian python3-optuna 3.1)
searching taml's space by driving `taml train`, side by side with taml's own
searches (issue 8, "Side by side"); and a plain Python random search driving
`taml train` the same way, the stand-in random-search target when no taml
random study is given.

Every trial is one `taml train --task DIR --config JSON --seed S --json`
process: the same child, splits and reward (validation accuracy) as a trial
of `taml search`; test accuracy is recorded and never used. The space is the
JSON space file `taml search --space` reads (experiments/space.py writes it),
every decision a categorical choice, so both searchers see the same space.

Output: one JSON object per line in OUT.jsonl, in trial order:
  {"trial": 1, "method": "tpe"|"random-py", "task": NAME, "seed": S,
   "config": {...}, "state": "done"|"diverged"|"invalid"|"failed",
   "valid_acc": x|null, "test_acc": x|null, "train_s": x, "wall_s": x,
   "error": text|null}
A failed trial (taml train exited non-zero) keeps its place with null
accuracies: it spent budget, as in the study store.

With --pruner median|asha (Optuna's MedianPruner(n_startup_trials=W) or
SuccessiveHalvingPruner(min_resource=S, reduction_factor=E), the anchor of
issue 17 beside `taml search --pruner`): each trial runs `taml train
--rungs` at taml's rungs (S x E^k training samples below its own) and
reports each rung's validation accuracy to Optuna as it is printed
(step = samples); when Optuna says prune, the process is killed there and
the trial is recorded as "state": "pruned" with null accuracies (it never
ranks, as in a taml study), "rungs": [[samples, valid], ...] and its wall
time up to the kill. Every trial's record then has "rungs" and "pruner". Running the command
again continues the file: finished trials are read back (and told to a new
TPE sampler in their order), the rest run. A resumed TPE search is not
bit-identical to an uninterrupted one (the sampler's random state restarts),
which a budget-to-target comparison does not need.

The child seed of trial i (1-based) is seed * 1000003 + i, so any trial
replays alone with the same `taml train` command.

usage:
  tpe.py run --task DIR --space FILE.json --trials N --out FILE.jsonl
             [--method tpe|random-py] [--seed S] [--module-dir DIR]
             [--stop-at-target RANDOM.db --budget T [--min-trials K]]
      with --stop-at-target, the search stops once its validation
      accuracy-top10 has reached random search's at T (the trials-to-target
      target) and it has run at least K trials (the fixed budget of the
      test table), instead of always running N: the trials after that
      change neither its trials-to-target nor its fixed-budget figure.
  tpe.py ttt FILE.jsonl (--against-study RANDOM.db | --against-jsonl RANDOM.jsonl)
             [--budget T] [--json]
      trials-to-target of the JSONL trials against random search's
      validation accuracy-top10 at T (experiments/metrics.py = metrics.h).
"""
import argparse
import json
import math
import os
import random
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import metrics as M  # noqa: E402
import tasks as T  # noqa: E402


def load_space(path):
    with open(path) as f:
        space = json.load(f)
    if not isinstance(space, dict) or not space:
        raise ValueError("%s: a space is one JSON object of decisions" % path)
    for k, v in space.items():
        if not isinstance(v, list) or not v:
            raise ValueError("%s: decision %s: expected a non-empty list of choices" % (path, k))
    return space


def read_trials(path):
    """The trials of a JSONL file, in order; a torn last line (killed while
    writing) is dropped."""
    out = []
    if not os.path.isfile(path):
        return out
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            if i >= len(lines) - 2:  # the last line, cut short
                break
            raise
    for i, t in enumerate(out, 1):
        if t.get("trial") != i:
            raise ValueError("%s: line %d is trial %r, expected %d" % (path, i, t.get("trial"), i))
    return out


def drop_torn_tail(path):
    """Cuts a last line left without its newline by a kill (read_trials
    skipped it), so the next trial starts a line of its own."""
    if not os.path.isfile(path):
        return
    with open(path, "r+b") as f:
        data = f.read()
        end = data.rfind(b"\n") + 1
        if end < len(data):
            f.truncate(end)


def run_child(taml, task_dir, config, seed, env):
    t0 = time.monotonic()
    p = subprocess.run([taml, "train", "--task", task_dir, "--config", json.dumps(config),
                        "--seed", str(seed), "--json"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env)
    wall = time.monotonic() - t0
    if p.returncode != 0:
        return {"state": "failed", "valid_acc": None, "test_acc": None, "train_s": None,
                "wall_s": wall, "error": p.stderr.decode("utf-8", "replace").strip()[-500:]}
    r = json.loads(p.stdout)
    state = {"ok": "done"}.get(r["status"], r["status"])
    return {"state": state, "valid_acc": r.get("valid_acc"), "test_acc": r.get("test_acc"),
            "train_s": r.get("train_s"), "wall_s": wall, "error": None}


def rungs_of(config, a):
    """taml's rungs (search/prune.h) below the config's samples."""
    out, s = [], a.prune_min
    while s < config.get("samples", 0) and len(out) < 24:
        out.append(s)
        s *= a.prune_eta
    return out


def run_child_rungs(taml, task_dir, config, seed, env, rungs, on_rung):
    """taml train --rungs: each rung's line goes to on_rung(samples, valid),
    which returns True to stop the run there (the process is killed)."""
    t0 = time.monotonic()
    cmd = [taml, "train", "--task", task_dir, "--config", json.dumps(config), "--seed", str(seed),
           "--json"]
    if rungs:
        cmd += ["--rungs", ",".join(str(s) for s in rungs)]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    seen, last = [], None
    for line in p.stdout:
        o = json.loads(line)
        if "rung" not in o:
            last = o
            continue
        seen.append([o["samples"], o["valid_acc"]])
        if on_rung(o["samples"], o["valid_acc"]):
            p.kill()
            p.communicate()
            return {"state": "pruned", "valid_acc": None, "test_acc": None, "train_s": None,
                    "wall_s": time.monotonic() - t0, "error": None, "rungs": seen}
    err = p.stderr.read()
    p.wait()
    wall = time.monotonic() - t0
    if p.returncode != 0 or last is None:
        return {"state": "failed", "valid_acc": None, "test_acc": None, "train_s": None,
                "wall_s": wall, "error": err.decode("utf-8", "replace").strip()[-500:], "rungs": seen}
    state = {"ok": "done"}.get(last["status"], last["status"])
    return {"state": state, "valid_acc": last.get("valid_acc"), "test_acc": last.get("test_acc"),
            "train_s": last.get("train_s"), "wall_s": wall, "error": None, "rungs": seen}


def make_pruner(a, optuna):
    if a.pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=a.prune_warmup, n_warmup_steps=0)
    if a.pruner == "asha":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=a.prune_min,
                                                      reduction_factor=a.prune_eta,
                                                      min_early_stopping_rate=0)
    return None


def cmd_run(a):
    import optuna
    space = load_space(a.space)
    names = list(space)
    done = read_trials(a.out)
    drop_torn_tail(a.out)
    task = os.path.basename(os.path.normpath(a.task))
    for t in done:
        if t["method"] != a.method or t["task"] != task:
            sys.exit("tpe: %s holds %s trials on %s, not %s on %s" % (a.out, t["method"], t["task"], a.method, task))
        if t.get("pruner", "none") != a.pruner:
            sys.exit("tpe: %s holds trials with pruner %s, not %s" % (a.out, t.get("pruner", "none"), a.pruner))
    taml = T.taml_bin()
    env = dict(os.environ)
    if a.module_dir:
        env["TAML_MODULES"] = a.module_dir
    # Choices by index: Optuna's categorical choices must be None/bool/int/
    # float/str, and "disable" beside numbers is fine, but indices keep the
    # distributions identical whatever the choice types are.
    dists = {n: optuna.distributions.CategoricalDistribution(list(range(len(space[n])))) for n in names}
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = None
    rng = random.Random(a.seed)
    if a.method == "tpe":
        study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=a.seed),
                                    pruner=make_pruner(a, optuna))
        for t in done:
            idx = {n: space[n].index(t["config"][n]) for n in names}
            if t["state"] == "pruned":
                study.add_trial(optuna.trial.create_trial(
                    params=idx, distributions=dists, state=optuna.trial.TrialState.PRUNED,
                    intermediate_values={s: v for s, v in t["rungs"]}))
            elif t["valid_acc"] is None:
                study.add_trial(optuna.trial.create_trial(params=idx, distributions=dists,
                                                          state=optuna.trial.TrialState.FAIL))
            else:
                study.add_trial(optuna.trial.create_trial(params=idx, distributions=dists,
                                                          value=t["valid_acc"]))
    else:
        for _ in done:  # keep the random stream where an uninterrupted run would be
            for n in names:
                rng.randrange(len(space[n]))
    tgt = None
    if a.stop_at_target:
        tgt, _ = study_target(a.stop_at_target, task, a.budget)
    valid = [t["valid_acc"] for t in done]

    def reached():
        v = [float("nan") if x is None else x for x in valid]
        return tgt is not None and len(v) >= a.min_trials and M.trials_to_target(v, tgt) > 0

    with open(a.out, "a", encoding="utf-8") as f:
        for i in range(len(done) + 1, a.trials + 1):
            if reached():
                print("tpe: %s: target %.4f reached (%d trials), stopped" % (task, tgt, len(valid)),
                      file=sys.stderr, flush=True)
                break
            if study is not None:
                trial = study.ask(dists)
                idx = {n: trial.params[n] for n in names}
            else:
                idx = {n: rng.randrange(len(space[n])) for n in names}
            config = {n: space[n][idx[n]] for n in names}
            seed = a.seed * 1000003 + i
            if a.pruner != "none" and study is not None:
                def on_rung(samples, v, trial=trial):
                    trial.report(v, samples)
                    return trial.should_prune()
                r = run_child_rungs(taml, a.task, config, seed, env, rungs_of(config, a), on_rung)
                r["pruner"] = a.pruner
            else:
                r = run_child(taml, a.task, config, seed, env)
            if study is not None:
                if r["state"] == "pruned":
                    study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                elif r["valid_acc"] is None:
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
                else:
                    study.tell(trial, r["valid_acc"])
            rec = {"trial": i, "method": a.method, "task": task, "seed": seed, "config": config}
            rec.update(r)
            f.write(json.dumps(rec, sort_keys=True) + "\n")
            f.flush()
            valid.append(rec["valid_acc"])
            print("trial %d %s %s valid %s test %s (%.2f s)" % (
                i, task, rec["state"],
                "%.4f" % rec["valid_acc"] if rec["valid_acc"] is not None else "-",
                "%.4f" % rec["test_acc"] if rec["test_acc"] is not None else "-", rec["wall_s"]),
                file=sys.stderr, flush=True)
    return 0


def accs(trials):
    nan = float("nan")
    return ([nan if t["valid_acc"] is None else t["valid_acc"] for t in trials],
            [nan if t["test_acc"] is None else t["test_acc"] for t in trials])


def study_target(path, task, budget):
    """Random search's valid accuracy-top10 at T from a taml random study,
    through `taml status --against` (the C metrics, metrics.h); budget 0 =
    all its trials. Returns (target, T)."""
    cmd = [T.taml_bin(), "status", path, "--against", path, "--json"]
    if budget:
        cmd += ["--budget", str(budget)]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(cmd), p.stderr.decode().strip()))
    st = json.loads(p.stdout)
    if st.get("method") != "random":
        raise ValueError("%s is a %s study, not a random search" % (path, st.get("method")))
    rows = [r for r in st["tasks"] if r["task"] == task]
    if not rows:
        raise ValueError("%s has no task %s" % (path, task))
    r = rows[0]
    if r.get("target") is None:
        raise ValueError("%s: no target on %s: %s" % (path, task, r.get("target_note")))
    return r["target"], r.get("budget", r["trials"])


def cmd_ttt(a):
    trials = read_trials(a.jsonl)
    if not trials:
        sys.exit("tpe: %s has no trials" % a.jsonl)
    task = trials[0]["task"]
    if a.against_study:
        tgt, budget = study_target(a.against_study, task, a.budget)
        source = "taml random study %s" % a.against_study
    else:
        rs = read_trials(a.against_jsonl)
        if rs and rs[0]["task"] != task:
            sys.exit("tpe: %s is on %s, not %s" % (a.against_jsonl, rs[0]["task"], task))
        rv, _ = accs(rs)
        budget = a.budget or len(rv)
        tgt = M.target(rv, budget)
        source = "Python random search driving taml train (%s), not a taml study" % a.against_jsonl
    v, t = accs(trials)
    n = M.trials_to_target(v, tgt)
    last = M.at_budget(v, t, 0)
    res = {"task": task, "method": trials[0]["method"], "trials": len(trials), "target": tgt,
           "target_budget": budget, "target_source": source, "to_target": n or None,
           "top_valid": last["valid"], "top_test": last["test"],
           "top_test_2sem": 2 * last["test_sem"] if not math.isnan(last["test_sem"]) else None}
    if a.json:
        print(json.dumps(res, indent=1))
    else:
        print("%s %s: %d trials; target %.4f (random search's valid top10 at T = %d; %s); "
              "trials to target: %s; valid top10 %.4f, test top10 %.4f" % (
                  task, res["method"], len(trials), tgt, budget, source, n or "n/a",
                  last["valid"], last["test"]))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--task", required=True)
    r.add_argument("--space", required=True)
    r.add_argument("--trials", type=int, required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--method", choices=["tpe", "random-py"], default="tpe")
    r.add_argument("--seed", type=int, default=1)
    r.add_argument("--module-dir")
    r.add_argument("--stop-at-target", metavar="RANDOM.db")
    r.add_argument("--budget", type=int, default=0)
    r.add_argument("--min-trials", type=int, default=0)
    r.add_argument("--pruner", choices=["none", "median", "asha"], default="none")
    r.add_argument("--prune-eta", type=int, default=3)
    r.add_argument("--prune-min", type=int, default=1000)
    r.add_argument("--prune-warmup", type=int, default=5)
    t = sub.add_parser("ttt")
    t.add_argument("jsonl")
    g = t.add_mutually_exclusive_group(required=True)
    g.add_argument("--against-study")
    g.add_argument("--against-jsonl")
    t.add_argument("--budget", type=int, default=0)
    t.add_argument("--json", action="store_true")
    a = ap.parse_args()
    if a.cmd == "run":
        if a.trials < 1:
            sys.exit("tpe: --trials must be >= 1")
        if a.pruner != "none" and a.method != "tpe":
            sys.exit("tpe: --pruner is for --method tpe")
        return cmd_run(a)
    return cmd_ttt(a)


if __name__ == "__main__":
    sys.exit(main())
