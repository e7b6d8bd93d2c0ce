#ifndef COFFER_RECONCILE_H
#define COFFER_RECONCILE_H

/*
 * reconcile: bring the catalog in line with a vault, and clean up what
 * this host's interrupted runs left there (DESIGN.md "Commit order").
 * Every command that takes the vault lock runs it first.
 *
 * - A committed set (set.json.sig present, signature by a pinned key,
 *   header matching its path) that the catalog lacks is added, with an
 *   audit event "set.reconcile" (details {"label", "host", "added": true}).
 *   A set whose signature does not verify is reported and left alone.
 * - A catalog set of this vault whose set.json.sig is gone from the vault
 *   (deleted by hand or by another host's forget) is removed from the
 *   catalog, with an audit event "set.reconcile" (details {"removed":
 *   true}): the vault is the truth for sets, and a set without its commit
 *   point can no longer be trusted or restored.
 * - Leftovers of THIS host's runs are removed: ".part" temporaries
 *   (target_list_parts) of runs that are over, and set directories
 *   without set.json.sig (uncommitted sets).  Parts of a run whose pid is
 *   still alive, of the running process, and of other hosts are never
 *   touched; neither is a set directory holding such a part.
 *
 * The caller holds the vault lock, so no backup of this home runs
 * meanwhile.
 */

struct audit_event;
struct catalog;
struct sign_pinned;
struct target;

/* What reconcile_vault did. */
struct reconcile_result {
	unsigned long added;            /* sets added to the catalog */
	unsigned long removed;          /* catalog sets whose sig is gone */
	unsigned long bad;              /* committed sets that did not load */
	unsigned long parts;            /* .part files removed */
	unsigned long uncommitted;      /* uncommitted set dirs removed */
};

/*
 * reconcile_vault(cat, t, vault_row, host, pinned, tmpl, res): as above,
 * for the vault t (catalog vaults row vault_row) as seen by host.  tmpl
 * gives operator, host and site of the audit events (action, object and
 * details are set here).  res (may be NULL) receives the counts.
 * Returns 0, or -1 (reported) on an error; what was done before the error
 * stays done.
 */
int reconcile_vault(struct catalog *, struct target *, long long,
    const char *, const struct sign_pinned *, const struct audit_event *,
    struct reconcile_result *);

#endif
