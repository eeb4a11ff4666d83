/* ctrl/grow.h - a trained controller carried over to a search space that
 * differs from its own (issue 16, docs/controller.md "Transfer to a grown
 * space"): the transfer of `taml search --method transfer` when the space
 * searched now is not the one the controller learned on.
 *
 * The mapping. Decisions are matched by name, choices by value (the same
 * kind and value, space.h's taml_space_choice_equal). Per decision of the
 * new space:
 *
 *   same      every choice is the old decision's, in the same order
 *   grown     it shares at least one choice with the old decision and has
 *             choices added, removed or reordered
 *   new       no decision of the old space has its name
 *   replaced  the old decision of that name shares no choice with it (its
 *             values are of a common kind but none is the same)
 *
 * and a decision of the old space the new one lacks is dropped. A pair of
 * decisions of one name whose values have no kind in common (strings then,
 * numbers now) is refused, as is a new space that shares no choice of any
 * decision with the old one: nothing would carry over (TAML_EMISMATCH,
 * saying what differs).
 *
 * The grown controller. The LSTM, the start vector and every task's
 * embedding, reward statistics and Adam state carry over unchanged. A
 * decision that is same or grown keeps, for each choice it shares, that
 * choice's head column (weights and bias) and its action embedding; a
 * removed choice's parameters are dropped, so it is never sampled again
 * (the softmax is over the new space's choices only). An added choice gets
 * a fresh action embedding (uniform in [-init_scale, init_scale], the
 * controller's own RNG) and a head column set so that it starts with a
 * fair share: its weights are the mean of the kept choices' columns, and
 * its bias is the mean of theirs plus log(mean_k exp z_k) - mean_k z_k,
 * the kept logits z_k taken at the reference input (the reference task's
 * greedy path, decision by decision). At the reference input every added
 * choice then has probability exactly 1/n (n: the decision's choices now)
 * and the kept ones share the rest in their old proportions; elsewhere the
 * added column follows the kept ones' mean, so it stays near 1/n. A new or
 * replaced decision gets a head of zeros (its first policy is exactly
 * uniform, whatever the LSTM's state) and fresh action embeddings. The
 * shared weights' Adam moments and step count restart (their shapes
 * changed); the options are the old controller's.
 */
#ifndef TAML_CTRL_GROW_H
#define TAML_CTRL_GROW_H

#include "core/err.h"
#include "ctrl/controller.h"
#include "space/space.h"

typedef enum taml_grow_kind {
    TAML_GROW_SAME = 0,
    TAML_GROW_GROWN,
    TAML_GROW_NEW,
    TAML_GROW_REPLACED,
    TAML_GROW_DROPPED,
} taml_grow_kind;

/* "same", "grown", "new", "replaced", "dropped". */
const char *taml_grow_kind_name(taml_grow_kind k);

/* One decision of the mapping. Index arrays are heap (the plan owns them). */
typedef struct taml_grow_decision {
    taml_grow_kind kind;
    int to;        /* its index in the new space, -1 for a dropped one */
    int from;      /* its index in the old space, -1 for a new one */
    int n_added;   /* choices of the new decision the old one lacks */
    int *added;    /* (n_added) their indices in the new space */
    int n_removed; /* choices of the old decision the new one lacks */
    int *removed;  /* (n_removed) their indices in the old space */
    int *old_of;   /* (choices now; NULL when new or replaced) each choice's
                    * index in the old decision, -1 when added */
} taml_grow_decision;

/* The mapping from space `from` to space `to`: one entry per decision of
 * `to` in its order, then one per dropped decision of `from`. */
typedef struct taml_grow_plan {
    int n;
    taml_grow_decision *d;
    int changed; /* 0 when the spaces are the same (every entry same, none dropped) */
} taml_grow_plan;

/* Works out the mapping into *plan (taml_grow_plan_deinit frees it, also
 * after a failure). TAML_EMISMATCH for the refusals above, the message
 * starting with source (the controller's name: a path) and saying which
 * decision and what differs. */
int taml_grow_plan_make(taml_grow_plan *plan, const taml_space *from, const taml_space *to,
                        const char *source, taml_err *err);
void taml_grow_plan_deinit(taml_grow_plan *plan);

/* The mapping as one line for people, e.g. "embedding: 1 choice added
 * ("D"); layers: 1 choice removed (7); new decision subwords (fresh head);
 * dropped decision wide_l1", and "the decisions they share are in another
 * order" when they are ("nothing changed" when the spaces are the same; a
 * decision only shifted by one added or dropped before it is not named).
 * Heap string. */
char *taml_grow_plan_summary(const taml_grow_plan *plan, const taml_space *from,
                             const taml_space *to);
/* The mapping as compact JSON text (docs/formats.md "Transfer records"):
 * {"decisions": [{"name", "status", "added": [values], "removed": [values]},
 * ...]}, the new space's decisions in order, then the dropped ones. Heap. */
char *taml_grow_plan_json(const taml_grow_plan *plan, const taml_space *from,
                          const taml_space *to);

/* The controller src carried over to space `to` by plan (made from src's
 * space to `to`): a new controller (*out, caller frees) as the top of this
 * file says, src unchanged. ref_task (a task of src) gives the reference
 * input of the added choices' share. */
int taml_ctrl_grow(taml_ctrl **out, const taml_ctrl *src, const taml_space *to,
                   const taml_grow_plan *plan, int ref_task, taml_err *err);

#endif
