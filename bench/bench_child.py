#!/usr/bin/python3
"""`make bench-child`: the child model's speed, taml vs the PyTorch reference.

Makes a synthetic 5-class text task (20,000 texts of 30 tokens over a 20,000-word
vocabulary, in build/bench/synth-5class), then for small (1 x 64, random-100
module, 10k samples), medium (3 x 128, random-100, 100k samples) and large
(7 x 256, random-500, 300k samples), each with fine-tuning off and on, runs
  - taml: build/bench/bench_child train (1 and 2 worker threads, each training
    its own child, as a search's workers do: aggregate samples/s), and
  - anchors/torch_child.py with --threads 1 and 2 (OPENBLAS_CORETYPE=SkylakeX),
and prints samples/s and the ratio, then single-thread SGEMM GFLOP/s at the
child's shapes and the share of it the large frozen config's dense layers reach.

Then the text features beyond the paper, side by side with fastText
supervised (Debian fasttext; `scripts/setup extra`) at the same n-gram
settings, dimension 100 and one thread, on the train split of the same task:
the small config with word bigrams (fastText -wordNgrams 2) and with
character 3-5-grams (fastText -minn 3 -maxn 5), 100k samples. fastText's
samples per second are those of its training alone: the difference between
an 1-epoch and a 6-epoch run (its dictionary and bucket table set up in
both), in wall and in CPU time (user + system). Last, the n-gram features of
the largest task, wordnet-pos (117,030 texts), as a search computes them
once: seconds and the peak RSS (`bench_child features`).
Writes the table to build/bench/bench-child.md as well. A benchmark: it never
fails on a timing.

Two clocks: samples per wall-clock second, and samples per CPU second of the
training (taml: the training threads' CPU time; torch: its process CPU time in
training, all its threads). On a machine shared with other jobs the wall clock
counts the time others held the core; the CPU clock measures the work itself,
so its ratio is the one to read there (both are printed, with the machine's
load). PyTorch with 2 threads spins when the cores are busy and can run 100x
slower, so its 2-thread runs use at most --torch-2t-samples samples.
With --against BIN (another build's bench_child, e.g. main's), every paper
row runs that build too, alternating with this one in the same run, and a
table of the two builds side by side follows (the way to show a change
keeps the paper's configurations' speed on a shared machine); --no-torch
leaves PyTorch out.
  bench/bench_child.py [--bin build/bench/bench_child] [--only small,medium,large] [--threads 1,2] [--repeat 3]
                      [--ngrams bigrams,chars] [--features-task data/tasks/wordnet-pos]
                      [--against OTHER/bench_child] [--no-torch]
"""
import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TORCH = os.environ.get("TORCH_CHILD", "/work/shared/anchors/torch_child.py")
BASE = {"fine_tune": False, "activation": "relu", "normalization": "none", "dropout": 0.0,
        "deep_lr": 0.1, "deep_l2": 1e-4, "wide_lr": 0.1, "wide_l1": 1e-4}
SIZES = {"small": (1, 64, "random-100", 10000), "medium": (3, 128, "random-100", 100000),
         "large": (7, 256, "random-500", 300000)}
# The n-gram rows: taml's extra decisions on the small config, fastText's flags.
NGRAMS = {"bigrams": ({"word_ngrams": 2}, ["-wordNgrams", "2", "-minn", "0", "-maxn", "0"]),
          "chars": ({"char_ngrams": "3-5"}, ["-wordNgrams", "1", "-minn", "3", "-maxn", "5"])}
NGRAM_SAMPLES = 100000


def make_task(path):
    if os.path.exists(os.path.join(path, "all.tsv")):
        return
    os.makedirs(path, exist_ok=True)
    rng = random.Random(5)
    vocab = [f"w{i}" for i in range(20000)]
    with open(os.path.join(path, "all.tsv"), "w") as f:
        for _ in range(20000):
            c = rng.randrange(5)
            words = [vocab[rng.randrange(20000)] if rng.random() < 0.7 else
                     vocab[c * 4000 + rng.randrange(4000)] for _ in range(30)]
            f.write(f"c{c}\t{' '.join(words)}\n")


def cpu_busy():
    with open("/proc/stat") as f:
        t = [int(x) for x in f.readline().split()[1:9]]
    return sum(t) - t[3] - t[4], sum(t)


def run_json(cmd, env=None):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode:
        sys.exit(f"{' '.join(cmd[:3])}...: {p.stderr.strip()[-500:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def fasttext_train(task, tmp):
    """The task's train split (taml's split rule: the first 80% of all.tsv) as
    fastText's input file."""
    lines = open(os.path.join(task, "all.tsv")).read().splitlines()
    path = os.path.join(tmp, "fasttext-train.txt")
    with open(path, "w") as f:
        for line in lines[: len(lines) * 8 // 10]:
            label, text = line.split("\t", 1)
            f.write(f"__label__{label} {text}\n")
    return path, len(lines) * 8 // 10


def fasttext_run(ft, train, flags, epochs, tmp):
    """Wall and CPU (user + system) seconds of one `fasttext supervised`."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.time()
    p = subprocess.run([ft, "supervised", "-input", train, "-output", os.path.join(tmp, "ft-model"),
                        "-dim", "100", "-thread", "1", "-epoch", str(epochs), "-verbose", "0"] + flags,
                       capture_output=True, text=True)
    wall = time.time() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode:
        sys.exit(f"fasttext: {p.stderr.strip()[-500:]}")
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def ngram_rows(args, task):
    """taml's small config with word bigrams / character n-grams against
    fastText supervised at the same settings."""
    ft = shutil.which("fasttext")
    tmp = os.path.join(ROOT, "build", "bench")
    train, n_train = fasttext_train(task, tmp) if ft else (None, 0)
    layers, hidden, module, _ = SIZES["small"]
    rows = []
    for name in args.ngrams.split(","):
        extra, flags = NGRAMS[name]
        cfg = dict(BASE, embedding=module, fine_tune=False, layers=layers, hidden_size=hidden,
                   samples=NGRAM_SAMPLES, **extra)
        t = f = None
        for _ in range(args.repeat):
            t1 = run_json([args.bin, "train", task, json.dumps(cfg), module, "1"])
            t = t1 if t is None or t1["samples_per_cpu_s"] > t["samples_per_cpu_s"] else t
            if ft:
                w1, c1 = fasttext_run(ft, train, flags, 1, tmp)
                w6, c6 = fasttext_run(ft, train, flags, 6, tmp)
                s = 5 * n_train
                f1 = (s / (w6 - w1) if w6 > w1 else 0, s / (c6 - c1) if c6 > c1 else 0)
                f = f1 if f is None or f1[1] > f[1] else f
        rows.append((name, t, f, flags))
        print(f"{name}: taml {t['samples_per_s']:.0f}/s wall {t['samples_per_cpu_s']:.0f}/CPU-s, "
              f"fastText {f[0] if f else 0:.0f}/s wall {f[1] if f else 0:.0f}/CPU-s", file=sys.stderr)
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "bench", "bench_child"))
    ap.add_argument("--only", default="small,medium,large")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--torch-2t-samples", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each side per row; the best is kept")
    ap.add_argument("--ngrams", default="bigrams,chars", help="n-gram rows against fastText ('' none)")
    ap.add_argument("--features-task", default=os.path.join(ROOT, "data", "tasks", "wordnet-pos"))
    ap.add_argument("--against", help="another build's bench_child, run beside this one on the paper rows")
    ap.add_argument("--no-torch", action="store_true", help="leave the PyTorch reference out")
    ap.add_argument("--features-module", default=os.path.join(ROOT, "data", "modules", "en-glove-100.tamlm"))
    args = ap.parse_args()
    task = os.path.join(ROOT, "build", "bench", "synth-5class")
    make_task(task)
    torch_env = dict(os.environ, OPENBLAS_CORETYPE="SkylakeX")
    gemm = run_json([args.bin, "sgemm"])
    rows, large_gflops, against = [], None, []
    b0 = cpu_busy()
    for size in args.only.split(","):
        layers, hidden, module, samples = SIZES[size]
        for ft in (False, True):
            cfg = dict(BASE, embedding=module, fine_tune=ft, layers=layers, hidden_size=hidden,
                       samples=samples)
            for th in [int(x) for x in args.threads.split(",")]:
                pcfg = dict(cfg, samples=min(samples, args.torch_2t_samples)) if th > 1 else cfg
                # Best of --repeat runs of each, alternating: on a shared machine a
                # run is only ever slowed down by others, never sped up.
                t = p = a = tc = None
                for rep in range(args.repeat):
                    # with --against, the two builds take turns going first
                    if args.against and rep % 2:
                        a1 = run_json([args.against, "train", task, json.dumps(cfg), module, str(th)])
                        a = a1 if a is None or a1["samples_per_cpu_s"] > a["samples_per_cpu_s"] else a
                    t1 = run_json([args.bin, "train", task, json.dumps(cfg), module, str(th)])
                    t = t1 if t is None or t1["samples_per_s"] > t["samples_per_s"] else t
                    # the builds side by side are both picked by CPU time
                    tc = t1 if tc is None or t1["samples_per_cpu_s"] > tc["samples_per_cpu_s"] else tc
                    if args.against and not rep % 2:
                        a1 = run_json([args.against, "train", task, json.dumps(cfg), module, str(th)])
                        a = a1 if a is None or a1["samples_per_cpu_s"] > a["samples_per_cpu_s"] else a
                    if args.no_torch:
                        continue
                    p1 = run_json(["/usr/bin/python3", TORCH, task, json.dumps(pcfg), "--threads",
                                   str(th)], torch_env)
                    p = p1 if p is None or p1["samples_per_s"] > p["samples_per_s"] else p
                if a:
                    against.append((size, ft, th, tc, a))
                    print(f"{size:6s} ft={'on ' if ft else 'off'} threads={th}: this build "
                          f"{tc['samples_per_s']:8.0f}/s {tc['samples_per_cpu_s']:8.0f}/CPU-s, against "
                          f"{a['samples_per_s']:8.0f}/s {a['samples_per_cpu_s']:8.0f}/CPU-s "
                          f"(test acc {tc['test_acc']:.4f} / {a['test_acc']:.4f})", file=sys.stderr)
                if args.no_torch:
                    continue
                if size == "large" and not ft and th == 1:
                    large_gflops = t["dense_gflops_per_child"]
                p_cpu = p["steps"] * 100 / p["train_cpu_s"] if p["train_cpu_s"] else 0
                rows.append((size, ft, th, t["samples_per_s"], p["samples_per_s"],
                             t["samples_per_cpu_s"], p_cpu, pcfg["samples"]))
                r = rows[-1]
                print(f"{size:6s} ft={'on ' if ft else 'off'} threads={th}: wall taml {r[3]:8.0f}/s "
                      f"torch {r[4]:8.0f}/s x{r[3] / r[4]:5.2f} | cpu taml {r[5]:8.0f}/s torch "
                      f"{r[6]:8.0f}/s x{r[5] / r[6]:5.2f}  (test acc {t['test_acc']:.3f} / "
                      f"{p['test_acc']:.3f}, torch foreign_cpus {p.get('foreign_cpus')})",
                      file=sys.stderr)
    nrows = ngram_rows(args, task) if args.ngrams else []
    feats = None
    if os.path.isdir(args.features_task) and os.path.exists(args.features_module):
        feats = run_json([args.bin, "features", args.features_task, args.features_module])
    b1 = cpu_busy()
    out = []
    if rows:
        out += [f"Best of {args.repeat} runs of each side per row (alternating taml and PyTorch).", "",
                "| config | fine-tune | threads | taml samples/s (wall) | torch (wall) | ratio (wall) "
                "| taml samples/CPU-s | torch samples/CPU-s | ratio (CPU) |",
                "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for size, ft, th, ts, ps, tc, pc, psamples in rows:
        layers, hidden, module, samples = SIZES[size]
        note = f" (torch {psamples // 1000}k)" if psamples != samples else ""
        out.append(f"| {size} ({layers}x{hidden}, {module}, {samples // 1000}k){note} | "
                   f"{'on' if ft else 'off'} | {th} | {ts:.0f} | {ps:.0f} | {ts / ps:.2f} | "
                   f"{tc:.0f} | {pc:.0f} | {tc / pc:.2f} |")
    if against:
        out += ["", f"The paper's configurations, this build against {args.against} (best of "
                f"{args.repeat} alternating runs each, by CPU time; same seeds, so the same test accuracy "
                f"is the same training):", "",
                "| config | fine-tune | threads | this build samples/s (wall) | against (wall) "
                "| this build samples/CPU-s | against samples/CPU-s | ratio (CPU) | test acc (this / against) |",
                "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for size, ft, th, t, a in against:
            layers, hidden, module, samples = SIZES[size]
            out.append(f"| {size} ({layers}x{hidden}, {module}, {samples // 1000}k) | {'on' if ft else 'off'} "
                       f"| {th} | {t['samples_per_s']:.0f} | {a['samples_per_s']:.0f} | "
                       f"{t['samples_per_cpu_s']:.0f} | {a['samples_per_cpu_s']:.0f} | "
                       f"{t['samples_per_cpu_s'] / a['samples_per_cpu_s']:.3f} | "
                       f"{t['test_acc']:.4f} / {a['test_acc']:.4f} |")
    out.append("")
    out.append("Single-thread SGEMM (%s):" % gemm["blas"])
    for g in gemm["sgemm"]:
        out.append(f"- {g['shape']}: {g['gflops']:.1f} GFLOP/s")
    if large_gflops is not None:
        peak = max(g["gflops"] for g in gemm["sgemm"][:3])
        out.append(f"- large frozen config, 1 thread: dense layers at {large_gflops:.1f} GFLOP/s per "
                   f"CPU second = {100 * large_gflops / peak:.0f}% of the best child-shape SGEMM "
                   f"({peak:.1f}, also per CPU second)")
    if nrows:
        layers, hidden, module, _ = SIZES["small"]
        out.append("")
        out.append(f"The text features beyond the paper: small ({layers}x{hidden}, {module} frozen, "
                   f"{NGRAM_SAMPLES // 1000}k samples) with n-grams, against fastText supervised "
                   f"(-dim 100 -thread 1, training alone: 6 epochs minus 1), best of {args.repeat} by CPU.")
        out.append("")
        out.append("| features | fastText flags | taml samples/s (wall) | fastText (wall) | ratio (wall) "
                   "| taml samples/CPU-s | fastText samples/CPU-s | ratio (CPU) | taml test acc | child bytes |")
        out.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for name, t, f, flags in nrows:
            fw, fc = f if f else (0, 0)
            out.append(f"| {name} ({', '.join(f'{k} {v}' for k, v in NGRAMS[name][0].items())}) | "
                       f"{' '.join(flags)} | {t['samples_per_s']:.0f} | {fw:.0f} | "
                       f"{t['samples_per_s'] / fw if fw else 0:.1f} | {t['samples_per_cpu_s']:.0f} | "
                       f"{fc:.0f} | {t['samples_per_cpu_s'] / fc if fc else 0:.1f} | {t['test_acc']:.3f} | "
                       f"{t['bytes']} |")
    if feats:
        out.append("")
        out.append(f"N-gram features of {feats['task']} ({feats['texts']} texts, {feats['tokens']} tokens), "
                   f"words 1-3, characters 2-5 and subwords ({os.path.basename(args.features_module)}), "
                   f"computed once: {feats['wall_s']:.2f} s wall, {feats['cpu_s']:.2f} s CPU; peak RSS "
                   f"{feats['hwm_kb_before'] / 1024:.0f} MB with the task and module loaded, "
                   f"{feats['hwm_kb_after'] / 1024:.0f} MB with every part.")
        for p in feats["parts"]:
            out.append(f"- {p['kind']} {p['n']}-grams: {p['rows']} rows, {p['entries']} entries, {p['s']:.2f} s")
        sw = feats["subwords"]
        out.append(f"- subwords: {sw['rows']} rows for {sw['words']} words the module lacks, {sw['s']:.2f} s")
    busy = (b1[0] - b0[0]) / max(1, b1[1] - b0[1]) * os.cpu_count()
    out.append("")
    out.append(f"Machine: {os.cpu_count()} CPUs, mean busy CPUs during the runs {busy:.2f} "
               f"(the benchmark itself uses 1-2); {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.")
    text = "\n".join(out)
    print(text)
    with open(os.path.join(ROOT, "build", "bench", "bench-child.md"), "w") as f:
        f.write(text + "\n")


if __name__ == "__main__":
    main()
