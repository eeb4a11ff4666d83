#!/usr/bin/python3
"""bench/bench_ask_tell.py - the overhead per trial of ask/tell and of
--objective, beside Optuna's ask/tell with SQLite storage, in one table
(`make bench-asktell`; docs/PERFORMANCE.md has the figures).

Every figure is milliseconds per trial, wall and CPU (CPU of every process
involved: this one's children for the command-line runs, the process itself
for the in-process runs). The search space is the paper's 12 decisions with
8 module names (as ../shared/anchors/optuna_overhead.py's SPACE); the score
a cheap function of the config, so no objective time is counted.

  taml, in one process   build/bench/bench_ask_tell lib: taml_search_ask +
                         taml_search_tell, each a session on the study file
  taml, processes        `taml ask` + `taml tell`, one process each
  taml --objective       build/bench/bench_ask_tell objective: the search
                         loop in one worker process with a command that
                         exits at once, beside a child that does nothing
  Optuna, in one process study.ask() + 12 suggest_categorical + study.tell()
                         on sqlite:/// storage (RDBStorage), TPE and random
  Optuna, processes      `optuna ask` + `optuna tell` (its command line) on
                         the same storage, TPE (a third of --cli-trials: each
                         trial starts Python and imports Optuna twice)
  Optuna in memory       the anchor script's own figure (TPE), for scale

Usage: bench_ask_tell.py [--bin build/bench/bench_ask_tell] [--taml build/taml]
                         [--trials 100] [--cli-trials 30] [--anchor PATH]
"""
import argparse
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time

SPACE = None  # the anchor's, loaded in main()


def children_cpu():
    u = resource.getrusage(resource.RUSAGE_CHILDREN)
    return u.ru_utime + u.ru_stime


def self_cpu():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def line(what, trials, wall, cpu, **extra):
    d = {"what": what, "trials": trials, "ms_per_trial_wall": round(1e3 * wall / trials, 3),
         "ms_per_trial_cpu": round(1e3 * cpu / trials, 3)}
    d.update(extra)
    print(json.dumps(d), flush=True)


def taml_c(binary, mode, per_task):
    out = subprocess.run([binary, mode, str(per_task)], check=True, capture_output=True, text=True)
    sys.stdout.write(out.stdout)
    sys.stdout.flush()


def taml_cli(taml, trials, tmp):
    space = os.path.join(tmp, "space.json")
    with open(space, "w") as f:
        json.dump(SPACE, f)
    study = os.path.join(tmp, "cli.db")
    setup = ["--method", "multitask", "--task", "task-a", "--task", "task-b",
             "--trials", str(trials), "--space", space]
    rng = random.Random(1)
    c0, t0 = children_cpu(), time.perf_counter()
    for i in range(trials):
        out = subprocess.run([taml, "ask", study] + (setup if i == 0 else []), check=True,
                             capture_output=True, text=True).stdout
        trial = out.split("\t")[0]
        subprocess.run([taml, "tell", study, trial, "--valid", "%.6f" % rng.random()], check=True)
    line("taml ask + taml tell (one process each, SQLite file)", trials,
         time.perf_counter() - t0, children_cpu() - c0)


def optuna_api(trials, sampler_name, tmp):
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = "sqlite:///" + os.path.join(tmp, "optuna-%s.db" % sampler_name)
    sampler = {"tpe": optuna.samplers.TPESampler, "random": optuna.samplers.RandomSampler}
    c0, t0 = self_cpu(), time.perf_counter()
    study = optuna.create_study(direction="maximize", storage=storage,
                                sampler=sampler[sampler_name](seed=0))
    rng = random.Random(1234)
    score = {(k, repr(c)): rng.random() for k, v in SPACE.items() for c in v}
    for _ in range(trials):
        trial = study.ask()
        params = {k: trial.suggest_categorical(k, v) for k, v in SPACE.items()}
        study.tell(trial, sum(score[k, repr(c)] for k, c in params.items()))
    line("Optuna %s ask + 12 suggest + tell (in one process, SQLite storage)" % sampler_name,
         trials, time.perf_counter() - t0, self_cpu() - c0, optuna=optuna.__version__)


def optuna_cli(trials, tmp):
    storage = "sqlite:///" + os.path.join(tmp, "optuna-cli.db")
    space = {k: {"name": "CategoricalDistribution", "attributes": {"choices": v}}
             for k, v in SPACE.items()}
    subprocess.run(["optuna", "create-study", "--storage", storage, "--study-name", "s",
                    "--direction", "maximize"], check=True, capture_output=True)
    rng = random.Random(1)
    c0, t0 = children_cpu(), time.perf_counter()
    for _ in range(trials):
        out = subprocess.run(["optuna", "ask", "--storage", storage, "--study-name", "s",
                              "--sampler", "TPESampler", "--search-space", json.dumps(space),
                              "-f", "json"], check=True, capture_output=True, text=True).stdout
        number = json.loads(out)["number"]
        subprocess.run(["optuna", "tell", "--storage", storage, "--study-name", "s",
                        "--trial-number", str(number), "--values", "%.6f" % rng.random()],
                       check=True, capture_output=True)
    line("optuna ask + optuna tell (one process each, SQLite storage, TPE)", trials,
         time.perf_counter() - t0, children_cpu() - c0)


def main():
    global SPACE
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="build/bench/bench_ask_tell")
    ap.add_argument("--taml", default="build/taml")
    ap.add_argument("--trials", type=int, default=100, help="trials of the in-process runs")
    ap.add_argument("--cli-trials", type=int, default=30, help="trials of the command-line runs")
    ap.add_argument("--anchor", default=None)
    args = ap.parse_args()
    anchor = args.anchor or next((p for p in ("../shared/anchors/optuna_overhead.py",
                                              "/work/shared/anchors/optuna_overhead.py")
                                  if os.path.exists(p)), None)
    if not anchor:
        sys.exit("bench_ask_tell: no Optuna anchor (give --anchor PATH)")
    sys.path.insert(0, os.path.dirname(os.path.abspath(anchor)))
    SPACE = __import__(os.path.basename(anchor)[:-3]).SPACE
    with open("/proc/loadavg") as f:
        load = f.read().split()[0]
    print(json.dumps({"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "load": load,
                      "python": platform.python_version(), "cpus": os.cpu_count()}), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        taml_c(args.bin, "lib", args.trials // 2)
        taml_cli(args.taml, args.cli_trials, tmp)
        taml_c(args.bin, "objective", args.trials // 2)
        optuna_api(args.trials, "random", tmp)
        optuna_api(args.trials, "tpe", tmp)
        optuna_cli(max(1, args.cli_trials // 3), tmp)  # 7 s a trial here: a third
    out = subprocess.run(["/usr/bin/python3", anchor, "--samplers", "tpe", "--trials",
                          str(args.trials), "--report", str(args.trials)],
                         check=True, capture_output=True, text=True).stdout
    d = json.loads(out.splitlines()[-1])
    line("Optuna tpe in memory (the anchor, for scale)", args.trials,
         d["ms_per_trial_mean_1_to_n"] * args.trials / 1e3, float("nan"),
         note="the anchor measures wall only; foreign_cpus %s" % d["foreign_cpus"])


if __name__ == "__main__":
    main()
