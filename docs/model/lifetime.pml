/*
 * The filemap lifetime protocol (docs/ARCHITECTURE.md §4) as a Promela model for Spin.
 * docs/model/README.md maps every action below to the function it models; check.sh runs it.
 *
 * One name, a pool of inodes and open file descriptions (OFDs), OFD record locks on bytes 0-1
 * (READ / WRITE), F_OFD_GETLK that takes nothing. Processes: three workers (W0..W2; W0 may
 * fork a child CH), a scanner (ls / gc / the sweep), an adversary of another uid that holds a
 * read-only descriptor and takes any lock that descriptor allows, a killer that SIGKILLs or
 * SIGSTOPs any worker, the child or the scanner at any step, a monitor that checks the
 * invariants in every reachable state, and a final check once everyone has ended.
 *
 * Every system call is one atomic step; a crash between two of them drops the process's
 * descriptors and views (so their OFDs' locks go when no reference is left); a stop keeps
 * everything forever. Nothing in the model ever waits for another process: Spin's
 * invalid-end-state check is the bounded-blocking rule.
 *
 * Bug variants (each reintroduces an old behaviour; check.sh requires a counterexample):
 *   BUG_FORK_SHARED_OFD       fork without the atfork handlers: parent and child keep one OFD
 *                             and both close it with the private fast path
 *   BUG_READONLY_EXCLUSIVE    flock semantics: a read-only descriptor may take the exclusive
 *                             (decision) lock
 *   BUG_PROBE_LOCK_IN_SCAN    probes take the lock they test (flock LOCK_EX|LOCK_NB) in the
 *                             scan and in the open, instead of F_OFD_GETLK
 *   BUG_BLOCKING_OPEN         an open that saw a holder waits for its read lock (F_OFD_SETLKW /
 *                             blocking LOCK_SH) instead of answering not found
 *   BUG_UNLINK_WITHOUT_DECISION  the closer unlinks without winning the decision lock
 *   BUG_FORK_UNLOCK_AFTER_FORK   finding 1: the old OFD's lock is dropped in the parent handler
 *                             (after fork) rather than in prepare
 *   BUG_FORK_FALLBACK_NO_RESCUE  finding 2: when prepare cannot make its fresh OFDs, the handle
 *                             just closes as shared, its lock left on its own OFD (which views pin)
 */

#ifndef NW
#define NW      3               /* workers 0..NW-1 (2 or 3) */
#endif
#ifndef FORK
#define FORK    1               /* W0 may fork */
#endif
#define CH      3               /* W0's forked child */
#define SC      4               /* scanner: ls, gc, the sweep */
#define ADV     5               /* adversary: another uid, read-only descriptor */
#define FIN     6               /* the final gc */
#define HEIR    7               /* a program W0 starts that inherits its handle (INHERIT_RESCUED) */
#if INHERIT_RESCUED
#define NP      8
#else
#define NP      7
#endif
#ifndef NOFD
#define NOFD    14              /* OFD slots (freed slots are reused; overflow is an assert) */
#endif
#define NINO    6
#ifndef SCANNER
#define SCANNER 1               /* run the scanner (ls / gc / sweep) */
#endif
#ifndef ADVERSARY
#define ADVERSARY 1             /* run the read-only adversary */
#endif
#ifndef BOUND
#define BOUND   2               /* create retries before ERROR_SHARING_VIOLATION (200 ms) */
#endif
#ifndef MAXSIG
#define MAXSIG  1               /* kills + stops the killer may send */
#endif
#ifndef SCANS
#define SCANS   1
#endif
#ifndef ADV_STEPS
#define ADV_STEPS 2
#endif
/* scenario switches: a bug variant runs the smallest configuration that shows it */
#ifndef KILL_ONLY
#define KILL_ONLY 0             /* 1: the killer sends SIGKILL only */
#endif
#ifndef STOP_ONLY
#define STOP_ONLY 0             /* 1: the killer sends SIGSTOP only */
#endif
#ifndef VICTIM
#define VICTIM  9               /* 9: any; else the only process the killer may signal */
#endif
#ifndef ROLE0
#define ROLE0   0               /* W0: 0 = create or open, 1 = create, 2 = open */
#endif
#ifndef ROLE1
#define ROLE1   0               /* W1 (and W2 unless ROLE2 is given): as ROLE0 */
#endif
#ifndef ROLE2
#define ROLE2   ROLE1           /* W2: as ROLE0 */
#endif
#ifndef VIEWS
#define VIEWS   1               /* W0 may map a view (2: always does) */
#endif
#ifndef INHERIT
#define INHERIT 1               /* W0's handle may be inheritable (shared) (2: always is) */
#endif
#ifndef PREP_MAY_FAIL
#define PREP_MAY_FAIL 1         /* fork prepare may fail to make its fresh OFDs (-> the rescue) */
#endif
#ifndef RESCUE_FAILS
#define RESCUE_FAILS 0          /* 1: the rescue fails too (EMFILE even at the hard limit) */
#endif
#ifndef RO_MODE
#define RO_MODE 0               /* 1: the object's mode forbids opening it for writing by name
                                   (0400 of a non-root creator; root's final gc excepted) */
#endif
#ifndef INHERIT_RESCUED
#define INHERIT_RESCUED 0       /* 1: W0 may set_inheritable(true) its rescued handle */
#endif

#define NONE  0
#define RD    1
#define WR    2

#define BIT(p) (1 << (p))

byte name;                      /* the inode linked at the name; 0 = no file */
bool ino_init[NINO];            /* header written (I4) */
byte o_ino[NOFD];
byte o_lock[NOFD];              /* NONE / RD / WR */
byte wl[NINO];                  /* write locks held on each inode */
byte o_refs[NOFD];              /* descriptors + views referring to the OFD */
bool o_wr[NOFD];                /* opened for writing */
byte o_users[NOFD];             /* ghost: processes this OFD's lock legitimately stands for */
byte pref[NP * NOFD];           /* ghost: references held by each process */
byte nofd = 1;
byte nino = 1;
byte alive = 127 & ~BIT(CH);    /* ghost: processes running (the child from its fork) */
byte hold[NP];                  /* ghost: inode a process holds a handle to (not closing) */
byte sig[NP];                   /* 1 = SIGKILL, 2 = SIGSTOP */
byte signals;
byte finished;                  /* processes that ended (normally or killed) */
byte expected = NW + SCANNER + ADVERSARY;   /* workers + scanner + adversary (+ the child once forked) */
byte stopped;
byte turn[NINO];                /* classic F_SETLK write lock on byte 2 (per process): holder + 1 */

/* ---- kernel: OFDs and locks ---------------------------------------------------------- */

/* the lowest free OFD slot (a freed OFD's slot is reused, so that the same situation reached
   in two orders is one state; no process keeps the number of an OFD it no longer refers to) */
inline allocofd(o) {
    o = 1;
    do
    :: o < nofd && o_refs[o] != 0 -> o++
    :: else -> break
    od;
    if :: o == nofd -> nofd++ :: else fi;
    assert(o < NOFD)
}

inline newofd(p, ino, wr, o) {
    d_step {
        allocofd(o);
        o_ino[o] = ino; o_wr[o] = wr; o_refs[o] = 1; o_lock[o] = NONE; o_users[o] = 0;
        pref[p * NOFD + o] = 1
    }
}

inline addref(p, o) { o_refs[o]++; pref[p * NOFD + o]++ }
inline addref1(p, o) { d_step { addref(p, o) } }

/* every change of a lock goes through here (wl[] counts write locks per inode, for guards) */
inline lockset(o, k) {
    if :: o_lock[o] == WR -> wl[o_ino[o]]-- :: else fi;
    o_lock[o] = k;
    if :: k == WR -> wl[o_ino[o]]++ :: else fi
}

/* close(2) of one descriptor, or munmap of one view */
inline dropref(p, o) {
    assert(pref[p * NOFD + o] > 0);
    o_refs[o]--; pref[p * NOFD + o]--;
    if
    :: o_refs[o] == 0 -> lockset(o, NONE); o_users[o] = 0; o_ino[o] = 0; o_wr[o] = 0
    :: else
    fi
}
inline drop(p, o) { d_step { dropref(p, o) } }

/* the kind of lock another OFD of the same inode holds that conflicts with `want` */
inline conflict(o, want, res) {
    res = NONE; i = 1;
    do
    :: i >= nofd -> break
    :: i < nofd ->
        if
        :: i != o && o_refs[i] > 0 && o_ino[i] == o_ino[o] && o_lock[i] != NONE && (want == WR || o_lock[i] == WR) ->
            if :: res != WR -> res = o_lock[i] :: else fi
        :: else
        fi;
        i++
    od;
    i = 0
}

/* F_OFD_SETLK: never waits; a write lock needs a writable descriptor */
inline setlk(o, kind, ok) {
    d_step {
        if
        :: kind == NONE -> lockset(o, NONE); ok = 1
        :: kind == WR && !o_wr[o] -> ok = 0
        :: else ->
            conflict(o, kind, c);
            ok = (c == NONE);
            if :: ok -> lockset(o, kind) :: else fi
        fi;
        c = 0
    }
}

/* does some process legitimately hold inode x (a handle, or an open that saw a holder)? */
inline legit(x, res) {
    res = 0; i = 1;
    do
    :: i >= nofd -> break
    :: i < nofd ->
        if :: o_refs[i] > 0 && o_ino[i] == x && (o_users[i] & alive) != 0 -> res = 1 :: else fi;
        i++
    od;
    i = 0
}

/* is the decision lock on inode x held through a descriptor opened for writing? */
inline writer_on(x, res) {
    res = 0; i = 1;
    do
    :: i >= nofd -> break
    :: i < nofd ->
        if :: o_refs[i] > 0 && o_ino[i] == x && o_lock[i] == WR && o_wr[i] -> res = 1 :: else fi;
        i++
    od;
    i = 0
}

/* openat(name): 0 when no file has the name */
inline openname(p, wr, o) {
    d_step {
        if
        :: name == 0 -> o = 0
        :: else ->
            allocofd(o);
            o_ino[o] = name; o_wr[o] = wr; o_refs[o] = 1; o_lock[o] = NONE; o_users[o] = 0;
            pref[p * NOFD + o] = 1
        fi
    }
}

/* process death or exit: every descriptor and view goes */
inline release_all(p) {
    d_step {
        i = 1;
        do
        :: i >= nofd -> break
        :: i < nofd ->
            o_users[i] = o_users[i] & ~BIT(p);
            do
            :: pref[p * NOFD + i] > 0 -> dropref(p, i)
            :: else -> break
            od;
            i++
        od;
        hold[p] = 0;
        alive = alive & ~BIT(p)
    }
}

/* ---- the monitor ---------------------------------------------------------------------- */

/* The invariants, checked in every reachable state: the monitor's only statement is enabled
   exactly where they fail, so it never moves (and adds no state) while they hold, and, blocked
   at an end label, hides no deadlock (a never claim would switch the end-state check off).
   Written out over every OFD slot and process, since a guard is an expression. */
#define RL(i) (o_refs[i] > 0 && o_ino[i] == name && o_lock[i] == RD)
#define LG(i) (o_refs[i] > 0 && o_ino[i] == name && (o_users[i] & alive) != 0)
#define HOLD_OK(q) (!((alive & BIT(q)) && hold[q] != 0 && hold[q] != name))
/* I4: only fully written objects ever have the name */
#define INV_I4 (name == 0 || ino_init[name])
/* I1/I2: every live holder's object is the one the name resolves to (no live object unlinked) */
#define INV_HOLD (HOLD_OK(0) && HOLD_OK(1) && HOLD_OK(2) && HOLD_OK(3) && HOLD_OK(4) && HOLD_OK(5) && HOLD_OK(6) && (NP < 8 || HOLD_OK(7)))
/* I2: the name resolves to a held-looking object (a read lock on it: opens would join) only
   while some live process legitimately holds it (a handle, or a live open that saw a holder) */
#define ANY_RL ((NOFD > 1 && RL(1)) || \
    (NOFD > 2 && RL(2)) || \
    (NOFD > 3 && RL(3)) || \
    (NOFD > 4 && RL(4)) || \
    (NOFD > 5 && RL(5)) || \
    (NOFD > 6 && RL(6)) || \
    (NOFD > 7 && RL(7)) || \
    (NOFD > 8 && RL(8)) || \
    (NOFD > 9 && RL(9)) || \
    (NOFD > 10 && RL(10)) || \
    (NOFD > 11 && RL(11)) || \
    (NOFD > 12 && RL(12)) || \
    (NOFD > 13 && RL(13)) || \
    (NOFD > 14 && RL(14)) || \
    (NOFD > 15 && RL(15)) || \
    (NOFD > 16 && RL(16)) || \
    (NOFD > 17 && RL(17)) || \
    (NOFD > 18 && RL(18)) || \
    (NOFD > 19 && RL(19)))
#define ANY_LG ((NOFD > 1 && LG(1)) || \
    (NOFD > 2 && LG(2)) || \
    (NOFD > 3 && LG(3)) || \
    (NOFD > 4 && LG(4)) || \
    (NOFD > 5 && LG(5)) || \
    (NOFD > 6 && LG(6)) || \
    (NOFD > 7 && LG(7)) || \
    (NOFD > 8 && LG(8)) || \
    (NOFD > 9 && LG(9)) || \
    (NOFD > 10 && LG(10)) || \
    (NOFD > 11 && LG(11)) || \
    (NOFD > 12 && LG(12)) || \
    (NOFD > 13 && LG(13)) || \
    (NOFD > 14 && LG(14)) || \
    (NOFD > 15 && LG(15)) || \
    (NOFD > 16 && LG(16)) || \
    (NOFD > 17 && LG(17)) || \
    (NOFD > 18 && LG(18)) || \
    (NOFD > 19 && LG(19)))
#define INV_I2 (name == 0 || !ANY_RL || ANY_LG)
#define INV (INV_I4 && INV_HOLD && INV_I2)
bool inv_ok = 1;
active proctype monitor() {
end_monitor:
    atomic { !INV -> inv_ok = 0; printf("MONITOR: invariant violated: name -> inode %d\n", name); assert(inv_ok) }
}

/* ---- the processes: one transition per system call ------------------------------------
 *
 * A worker (and the forked child) is a loop of guarded steps on a program counter `pc`: every
 * option is ONE system call (or one kernel event) together with the purely local computation
 * that follows it up to the next system call (branching on the result, resetting scratch
 * values). Local computation commutes with every step of every other process, so gluing it to
 * the system call before it removes only intermediate states that no other process can tell
 * apart (Lipton's reduction: local steps are both-movers); a crash between the two is the same
 * as a crash after the system call (the process's locals die with it). Also glued to a
 * neighbouring step, for the same reason, are the steps no other process can observe:
 * closing an OFD that holds no lock, opening or locking an OFD of an inode that has no name
 * (O_TMPFILE before linkat), mapping a view (a reference to an OFD we keep anyway), and the
 * fstat checks made while we hold a lock that forbids the change they test (see each step).
 *
 * Signals: at every step the process may instead be SIGKILLed (everything released at once) or
 * SIGSTOPped (everything kept, forever), while signals remain (MAXSIG; VICTIM; KILL_ONLY /
 * STOP_ONLY). The signal is an option of the victim itself, so it can fall between any two of
 * its steps, at any point of the interleaving, and no "signal sent but not yet acted on" state
 * exists. A process that ended, was killed or stopped waits at its end label.
 */

#define SIGOK(me) (signals < MAXSIG && (VICTIM == 9 || VICTIM == me))
#define SIGNAL_OPTIONS(me) \
    :: atomic { SIGOK(me) && !STOP_ONLY -> signals++; release_all(me); finished++; printf("P%d KILLED\n", me) }; break \
    :: atomic { SIGOK(me) && !KILL_ONLY -> signals++; stopped++; printf("P%d STOPPED\n", me) }; break

/* program counters (worker and child) */
#define P_START     0
#define P_LINK      1   /* create: linkat */
#define P_GETLK     2   /* open_in: F_OFD_GETLK */
#define P_REOPEN    3   /* reclaim_dead: a writable OFD by name */
#define P_DECIDE    4   /* reclaim_dead: the decision lock */
#define P_RUNLINK   5   /* reclaim_dead: fstat, statat + unlinkat */
#define P_RDROP     6   /* reclaim_dead: close the decision OFD */
#define P_JOIN      7   /* open_in: read lock (+ fstat) */
#define P_JDROP     8   /* open_in: the name went between look and lock: close, retry */
#define P_HELD      9   /* holds a handle: fork, set_inheritable, or close */
#define P_PREP_B   10   /* fork prepare: the second fresh OFD */
#define P_PREP_UNL 11   /* fork prepare: unlock the old OFD */
#define P_RESC_UNL 12   /* fork rescue: unlock the handle's own OFD */
#define P_FORK     13   /* fork(2) */
#define P_PAR_MOVE 14   /* atfork parent: dup3, unlock the old OFD */
#define P_PAR_DROP 15   /* atfork parent: close the extra descriptors */
#define P_CH_MOVE  16   /* atfork child: dup3 */
#define P_CH_DROP  17   /* atfork child: close the extra descriptors */
#define P_INH_MOVE 18   /* set_inheritable(true) on a rescued handle: dup3 the fresh OFD */
#define P_INH_UNL  19   /* ... unlock the old OFD */
#define P_INH_DROP 20   /* ... drop our reference to the rescue's lock OFD (untrack) */
#define K_START    21   /* close_handle: first step */
#define K_UNLINK   22   /* private, writable: won the conversion: unlinkat */
#define K_UNPIN    23   /* private: a view pins the OFD: unlock */
#define K_DROPH    24   /* close(2) of the handle's descriptor */
#define K_RO_UNL   25   /* private, read-only: unlock */
#define K_RO_OPEN  26   /* private, read-only: a writable OFD by name */
#define K_RO_DEC   27   /* ... its decision lock */
#define K_RO_UNLK  28   /* ... fstat st_nlink, unlinkat */
#define K_RO_DROP  29   /* ... close it */
#define K_SH_DROPL 30   /* shared: drop our reference to the rescue's lock OFD */
#define K_SH_DROPH 31   /* shared: close ours */
#define K_SH_DEC   32   /* shared: decision lock on the fresh OFD */
#define K_SH_UNLK  33   /* shared: fstat st_nlink, unlinkat */
#define K_SH_DROP  34   /* shared: close the fresh OFD */
#define K_OW_TURN  35   /* rescued, read-only fresh OFD: the per-process turn (F_SETLK byte 2) */
#define K_OW_DEC   36   /* ... the decision lock through our own OFD */
#define K_OW_STAT  37   /* ... statat */
#define K_OW_UNLK  38   /* ... unlinkat */
#define K_OW_UNL   39   /* ... unlock our own OFD */
#define K_OW_UNT   40   /* ... drop the turn */
#define P_EXIT     41   /* exit(2): views and every descriptor go */
#define P_OPEN     42   /* open_in: openat (after linkat found the name taken) */
#define P_SPAWN    43   /* W0 starts a program that inherits the handle's descriptor */
#define P_ADOPT    44   /* the heir adopts it: read lock on the inherited OFD (take_handle_lock) */

#define R_LIVE       1
#define R_FREE       2
#define R_BUSY       3
#define R_CONTENDED  4
#define R_GIVEUP     5

#define PINNED (pref[me * NOFD + h] > 1)
#define FORKS(me)      (me == 0 && FORK)

/* the handle is ours: ghost bookkeeping (+ I1 check) */
#define OTHER_SAME(q) (!((alive & BIT(q)) && hold[q] != 0 && hold[q] != hold[me]))
inline become_holder(me, o) {
    o_users[o] = o_users[o] | BIT(me);
    hold[me] = o_ino[o];
    assert(OTHER_SAME(0) && OTHER_SAME(1) && OTHER_SAME(2) && OTHER_SAME(3) && OTHER_SAME(4) && OTHER_SAME(5) && (NP < 8 || OTHER_SAME(7)))
}

/* a handle was acquired (W0 only: it may be inheritable, and may map a view; both local or
   invisible to other processes, so part of the acquiring step) */
inline acquired() {
    shared = 0;
    if :: me == 0 && INHERIT -> if :: shared = 1 :: INHERIT != 2 -> skip fi :: else fi;
    if
    :: me == 0 && VIEWS ->
        if
        :: !shared -> addref(me, h)                      /* mmap of our own OFD */
        :: shared -> newofd(me, hold[me], wr, o3); o3 = 0   /* a second, lock-free OFD */
        :: VIEWS != 2 -> skip
        fi
    :: else
    fi;
    if :: FORKS(me) -> pc = P_HELD :: else -> pc = K_START fi
}

/* what open_in's caller does with its result (create: retry, join or give up; open: join or
   not found); part of the step that produced the result */
inline opened() {
    if
    :: creating ->
        if
        :: res == R_LIVE ->
            dropref(me, h);            /* the unlinked O_TMPFILE: nobody else can reach it */
            h = o2; o2 = 0; wr = 1; become_holder(me, h);
            printf("P%d create: existing inode %d\n", me, hold[me]); acquired()
        :: res == R_FREE -> pc = P_LINK
        :: else ->
            if :: busy_by_writer -> ever_writer = 1 :: else fi;
            tries++;
            if
            :: tries > BOUND ->
                /* ERROR_SHARING_VIOLATION: only a process that may write the object (a
                   stopped or slow decider) can make a create fail, never a reader */
                assert(ever_writer || res == R_CONTENDED || res == R_GIVEUP);
                dropref(me, h); h = 0; printf("P%d create: ERROR_SHARING_VIOLATION\n", me); pc = P_EXIT
            :: else -> pc = P_LINK
            fi
        fi
    :: else ->
        if
        :: res == R_LIVE -> h = o2; o2 = 0; become_holder(me, h); printf("P%d open(wr=%d): joined inode %d via ofd %d\n", me, wr, hold[me], h); acquired()
        :: else -> h = 0; printf("P%d open(wr=%d): not found (result %d)\n", me, wr, res); pc = P_EXIT
        fi
    fi;
    if :: pc != P_LINK -> tries = 0; ever_writer = 0; creating = 0; ino = 0 :: else fi;
    res = 0; loops = 0; busy_by_writer = 0; saw_live = 0
}

/* open_in's first step: openat(name) (RO_MODE: opening for writing is refused) */
inline open_step(me) {
    loops++;
#if RO_MODE
    if
    :: wr -> res = R_GIVEUP; opened()       /* EACCES: the mode forbids writing */
    :: !wr -> openname(me, 0, o2); if :: o2 == 0 -> res = R_FREE; opened() :: else -> pc = P_GETLK fi
    fi
#else
    openname(me, wr, o2);
    if :: o2 == 0 -> res = R_FREE; opened() :: else -> pc = P_GETLK fi
#endif
}

/* a writable OFD by name (open_for_decision): none if the mode forbids writing (RO_MODE) */
inline open_rw(p, o) {
#if RO_MODE
    o = 0
#else
    openname(p, 1, o)
#endif
}

/* open_object (the shared close): read-write if the mode allows, else read-only */
inline open_object(p, o) {
    openname(p, 1 - RO_MODE, o)
}

/* unlink under the decision lock won by converting our own lock (release_private): no link
   check; the claim that makes it safe (the name still names our inode) is asserted */
inline unlink_decided(o) {
#ifndef BUG_UNLINK_WITHOUT_DECISION
    assert(name == o_ino[o]);
#endif
    if :: name != 0 -> name = 0; printf("P%d close: decided, unlinked the name (inode %d)\n", me, o_ino[o]) :: else fi
}

/* fstat st_nlink > 0, then unlinkat: one step, since under our decision lock on the inode no
   protocol step can unlink it meanwhile (and an unlinked inode is never linked again) */
inline unlink_if_linked(o) {
    if :: name == o_ino[o] -> name = 0; printf("P%d close: decided, unlinked inode %d\n", me, o_ino[o]) :: else fi
}

/* the steps of open_in (ObjectFile::open_in, reclaim_dead, unlink_if_same) */
#ifdef BUG_PROBE_LOCK_IN_SCAN
/* the old probe: try the exclusive lock; success means "dead" (and we keep it) */
#define GETLK_STEP \
    :: atomic { pc == P_GETLK -> \
        d_step { conflict(o2, WR, c); legit(o_ino[o2], saw_live); writer_on(o_ino[o2], busy_by_writer); \
                 if :: c == NONE -> lockset(o2, WR) :: else -> c = RD fi }; \
        if \
        :: c == NONE -> o_users[o2] = BIT(me); saw_live = 0; pc = P_RUNLINK \
        :: else -> pc = P_JOIN \
        fi; c = 0 }
#else
/* F_OFD_GETLK: takes nothing (ghost, in the same step: whether the lock seen is held through a
   writable descriptor, and whether anyone legitimately held the object) */
#define GETLK_STEP \
    :: atomic { pc == P_GETLK -> \
        d_step { conflict(o2, WR, c); legit(o_ino[o2], saw_live); writer_on(o_ino[o2], busy_by_writer) }; \
        if \
        :: c == WR -> dropref(me, o2); o2 = 0; res = R_BUSY; opened() \
        :: c == NONE && wr -> saw_live = 0; busy_by_writer = 0; pc = P_DECIDE \
        :: c == NONE && !wr -> saw_live = 0; busy_by_writer = 0; pc = P_REOPEN \
        :: c == RD -> busy_by_writer = 0; pc = P_JOIN \
        fi; c = 0 }
#endif

#ifdef BUG_BLOCKING_OPEN
/* wait until no write lock (blocking LOCK_SH / F_OFD_SETLKW) */
#define JOIN_LOCK (wl[o_ino[o2]] == 0) -> lockset(o2, RD); ok = 1
#else
#define JOIN_LOCK setlk(o2, RD, ok); if :: !ok -> writer_on(o_ino[o2], busy_by_writer) :: else fi
#endif

#define OPEN_IN_STEPS \
    GETLK_STEP \
    /* reclaim_dead, read-only open: a writable OFD by name, same inode (all lock-free OFDs) */ \
    :: atomic { pc == P_REOPEN -> open_rw(me, o3); \
        if \
        :: o3 == 0 || o_ino[o3] != o_ino[o2] -> \
            if :: o3 != 0 -> dropref(me, o3) :: else fi; dropref(me, o2); o2 = 0; o3 = 0; res = R_CONTENDED; opened() \
        :: else -> dropref(me, o2); o2 = o3; o3 = 0; pc = P_DECIDE \
        fi } \
    /* the decision lock (a refused one leaves the OFD lock-free: closing it is invisible) */ \
    :: atomic { pc == P_DECIDE -> setlk(o2, WR, ok); \
        if \
        :: !ok -> dropref(me, o2); o2 = 0; res = R_CONTENDED; opened() \
        :: ok -> o_users[o2] = BIT(me); pc = P_RUNLINK \
        fi; ok = 0 } \
    /* fstat (another reclaimer removed it?), header check, statat + unlinkat: under our decision \
       lock nobody can unlink the inode meanwhile, and an unlinked inode is never linked again */ \
    :: atomic { pc == P_RUNLINK -> \
        if :: name == o_ino[o2] -> name = 0; printf("P%d open: reclaimed dead inode %d\n", me, o_ino[o2]) :: else fi; \
        pc = P_RDROP } \
    :: atomic { pc == P_RDROP -> dropref(me, o2); o2 = 0; res = R_FREE; opened() } \
    /* our read lock, then fstat: once we hold it nobody can unlink the inode, so the link \
       count read right after the lock is the one fstat sees */ \
    :: atomic { pc == P_JOIN -> JOIN_LOCK; \
        if \
        :: !ok -> dropref(me, o2); o2 = 0; res = R_BUSY; opened() \
        :: ok && name != o_ino[o2] -> if :: saw_live -> o_users[o2] = BIT(me) :: else fi; pc = P_JDROP \
        :: ok && name == o_ino[o2] -> \
            /* never join an object that had no holder when we looked (resurrection) */ \
            assert(saw_live); o_users[o2] = BIT(me); res = R_LIVE; opened() \
        fi; ok = 0 } \
    /* st_nlink == 0: the holder we saw released the name: close, retry (64 rounds in the code) */ \
    :: atomic { pc == P_JDROP -> dropref(me, o2); o2 = 0; saw_live = 0; \
        if \
        :: loops >= 2 -> res = R_GIVEUP; opened() \
        :: else -> pc = P_OPEN \
        fi }

/* the steps of close_handle (release_private, release_by_name, release_shared,
   decide_through_own_ofd) */
#define CLOSE_STEPS \
    /* private, writable: convert to the decision lock (one call); if others hold the object,
       drop our read lock explicitly (a child being spawned may hold a copy of the descriptor) */ \
    :: atomic { pc == K_START && !shared && wr -> ino = hold[me]; hold[me] = 0; \
        printf("P%d close: inode %d ofd %d (private)\n", me, ino, h); \
        setlk(h, WR, ok); CLOSE_BUG; \
        if :: ok -> pc = K_UNLINK :: !ok -> pc = K_UNPIN fi; ok = 0 } \
    :: atomic { pc == K_UNLINK -> unlink_decided(h); if :: PINNED -> pc = K_UNPIN :: else -> pc = K_DROPH fi } \
    :: atomic { pc == K_UNPIN -> setlk(h, NONE, ok); ok = 0; pc = K_DROPH } \
    :: atomic { pc == K_DROPH -> o_users[h] = o_users[h] & ~BIT(me); dropref(me, h); h = 0; ino = 0; \
        if :: o3 != 0 -> pc = K_SH_DEC :: else -> pc = P_EXIT fi } \
    /* private, read-only: F_OFD_GETLK (anyone else?), unlock, decide through a writable OFD */ \
    :: atomic { pc == K_START && !shared && !wr -> ino = hold[me]; hold[me] = 0; \
        printf("P%d close: inode %d ofd %d (private, read-only)\n", me, ino, h); \
        d_step { conflict(h, WR, c) }; pc = K_RO_UNL } \
    :: atomic { pc == K_RO_UNL -> setlk(h, NONE, ok); ok = 0; \
        if :: c == NONE -> pc = K_RO_OPEN :: else -> pc = K_DROPH fi; c = 0 } \
    :: atomic { pc == K_RO_OPEN -> open_rw(me, o3); \
        if \
        :: o3 != 0 && o_ino[o3] == ino -> pc = K_RO_DEC \
        :: else -> if :: o3 != 0 -> dropref(me, o3); o3 = 0 :: else fi; pc = K_DROPH \
        fi } \
    :: atomic { pc == K_RO_DEC -> setlk(o3, WR, ok); \
        if :: ok -> o_users[o3] = BIT(me); pc = K_RO_UNLK :: else -> dropref(me, o3); o3 = 0; pc = K_DROPH fi; ok = 0 } \
    :: atomic { pc == K_RO_UNLK -> unlink_if_linked(o3); pc = K_RO_DROP } \
    :: atomic { pc == K_RO_DROP -> dropref(me, o3); o3 = 0; pc = K_DROPH } \
    /* shared: a fresh OFD by name (open_object), same inode, else forget it */ \
    :: atomic { pc == K_START && shared -> ino = hold[me]; hold[me] = 0; \
        printf("P%d close: inode %d ofd %d (shared, rescue ofd %d)\n", me, ino, h, lres); \
        open_object(me, o3); \
        if :: o3 != 0 && o_ino[o3] != ino -> dropref(me, o3); o3 = 0 :: else fi; \
        if \
        :: o3 == 0 -> pc = K_SH_DROPH; \
            /* the name is gone or names another object: nothing to decide; the rescue's \
               lock OFD goes with the handle (untrack returned it) */ \
            if :: lres != 0 -> pc = K_SH_DROPL :: else fi \
        :: o3 != 0 && lres != 0 -> pc = K_SH_DROPL \
        :: o3 != 0 && lres == 0 -> pc = K_SH_DROPH \
        fi } \
    /* a rescued handle drops its reference to the rescue's lock OFD first */ \
    :: atomic { pc == K_SH_DROPL -> o_users[lres] = o_users[lres] & ~BIT(me); dropref(me, lres); lres = 0; \
        if \
        :: o3 != 0 && !o_wr[o3] && wr && rescued -> \
            /* nobody may open the object for writing: decide through our own OFD, which \
               holds no handle lock since the rescue (the fresh one, lock-free, is closed) */ \
            dropref(me, o3); o3 = 0; pc = K_OW_TURN \
        :: else -> pc = K_SH_DROPH \
        fi } \
    /* close ours (the fresh OFD takes its number); then the decision on the fresh one */ \
    :: atomic { pc == K_SH_DROPH -> o_users[h] = o_users[h] & ~BIT(me); dropref(me, h); h = 0; ino = 0; rescued = 0; \
        if :: o3 != 0 -> pc = K_SH_DEC :: else -> pc = P_EXIT fi } \
    :: atomic { pc == K_SH_DEC -> setlk(o3, WR, ok); \
        if :: ok -> o_users[o3] = BIT(me); pc = K_SH_UNLK :: else -> dropref(me, o3); o3 = 0; pc = P_EXIT fi; ok = 0 } \
    :: atomic { pc == K_SH_UNLK -> unlink_if_linked(o3); pc = K_SH_DROP } \
    :: atomic { pc == K_SH_DROP -> dropref(me, o3); o3 = 0; pc = P_EXIT } \
    /* decide_through_own_ofd: take turns with the processes sharing our OFD (a classic lock: \
       per process, conflicts across processes), decision lock on our own OFD, statat, unlinkat \
       (two steps: unlink_if_same), unlock, end of turn; then our descriptor closes */ \
    :: atomic { pc == K_OW_TURN -> \
        if \
        :: TURN_FREE(ino) -> turn[ino] = me + 1; pc = K_OW_DEC \
        :: else -> pc = K_DROPH \
        fi } \
    :: atomic { pc == K_OW_DEC -> setlk(h, WR, ok); \
        if :: ok -> o_users[h] = o_users[h] | BIT(me); pc = K_OW_STAT :: else -> pc = K_OW_UNT fi; ok = 0 } \
    :: atomic { pc == K_OW_STAT -> if :: name == ino -> pc = K_OW_UNLK :: else -> pc = K_OW_UNL fi } \
    :: atomic { pc == K_OW_UNLK -> name = 0; printf("P%d close: decided through its own ofd, unlinked\n", me); pc = K_OW_UNL } \
    :: atomic { pc == K_OW_UNL -> setlk(h, NONE, ok); ok = 0; o_users[h] = o_users[h] & ~BIT(me); pc = K_OW_UNT } \
    :: atomic { pc == K_OW_UNT -> TURN_DROP(ino); pc = K_DROPH }

#ifdef BUG_UNLINK_WITHOUT_DECISION
#define CLOSE_BUG ok = 1
#else
#define CLOSE_BUG skip
#endif
#ifdef BUG_OWN_OFD_NO_TURN
/* the own-OFD decision without the per-process turn */
#define TURN_FREE(x) true
#define TURN_DROP(x) skip
#else
#define TURN_FREE(x) (turn[x] == 0 || turn[x] == me + 1)
#define TURN_DROP(x) turn[x] = 0
#endif

/* fork.rs `rescue`, prepare's fallback when the two fresh OFDs cannot be made: one fresh OFD L
   of the inode (the handle's access, else read-only: RO_MODE), read-locked, then the handle's
   own OFD (which views may pin) unlocked through the handle; the handle closes as shared from
   now on, and L goes to the child too. (If L cannot be opened either, the old behaviour
   remains: RESCUE_FAILS, a residual.) */
#ifdef BUG_FORK_FALLBACK_NO_RESCUE
#define RESCUE_STEP(cond) :: atomic { cond -> shared = 1; pc = P_FORK }
#else
#define RESCUE_STEP(cond) \
    :: atomic { cond && !RESCUE_FAILS -> newofd(me, hold[me], wr && !RO_MODE, lres); setlk(lres, RD, ok); assert(ok); ok = 0; \
        o_users[lres] = BIT(me); rescued = 1; pc = P_RESC_UNL } \
    :: atomic { cond && RESCUE_FAILS -> shared = 1; pc = P_FORK }
#endif

/* set_inheritable(true) on a rescued handle (W0, after the fork, before its close): a fresh
   OFD with the handle's access, read-locked, dup3 over our number, the old one unlocked
   (move_to_fresh_ofd), then untrack drops our reference to the rescue's lock OFD; if the mode
   forbids reopening (RO_MODE, writable handle) the call is refused and changes nothing */
#if INHERIT_RESCUED
/* RO_MODE, writable handle: the code refuses (ERROR_ACCESS_DENIED, nothing changes), which is
   no step at all; the old code read-locked its own OFD again (finding 3) */
#ifdef BUG_INHERIT_RESCUED_RELOCK
#define INH_READONLY_STEP \
    :: atomic { pc == K_START && me == 0 && rescued && RO_MODE && wr -> \
        INH_LOCK_OWN; pc = P_INH_DROP }
#else
#define INH_READONLY_STEP
#endif
#ifndef BUG_INHERIT_RESCUED_NO_MOVE
#define INHERIT_STEPS \
    :: atomic { pc == K_START && me == 0 && rescued && !(RO_MODE && wr) -> \
        newofd(me, hold[me], wr, fa); setlk(fa, RD, ok); assert(ok); ok = 0; o_users[fa] = BIT(me); pc = P_INH_MOVE } \
    :: atomic { pc == P_INH_MOVE -> \
        addref(me, h); fold = h; addref(me, fa); dropref(me, h); h = fa; dropref(me, fa); fa = 0; \
        INH_UNLOCK_OLD; pc = P_INH_DROP } \
    INH_READONLY_STEP \
    :: atomic { pc == P_INH_DROP -> \
        if :: fold != 0 -> o_users[fold] = o_users[fold] & ~BIT(me); dropref(me, fold); fold = 0 :: else fi; \
        o_users[lres] = o_users[lres] & ~BIT(me); dropref(me, lres); lres = 0; rescued = 0; \
        printf("P%d set_inheritable: handle on ofd %d\n", me, h); pc = P_SPAWN } \
    SPAWN_STEP
#else
/* the old set_inheritable: only FD_CLOEXEC changes; the number's OFD, lock-free since the
   rescue, is what the heir inherits, and the handle keeps the rescue's lock OFD */
#define INHERIT_STEPS \
    :: atomic { pc == K_START && me == 0 && rescued && !inh -> inh = 1; pc = P_SPAWN } \
    SPAWN_STEP
#endif
#else
#define INHERIT_STEPS
#endif
/* CreateProcess with inheritance: the heir gets the descriptor (its OFD), nothing else
   (close-on-exec: the rescue's lock OFD, views); it holds the handle from that moment */
#define SPAWN_STEP \
    :: atomic { pc == P_SPAWN -> \
        o_refs[h]++; pref[HEIR * NOFD + h] = 1; hold[HEIR] = hold[me]; o_users[h] = o_users[h] | BIT(HEIR); \
        expected++; alive = alive | BIT(HEIR); \
        run child(HEIR, h, 0, 0, 0, 0, 1, wr, 0, P_ADOPT); printf("P%d spawns P%d\n", me, HEIR); pc = K_START }
#define INH_UNLOCK_OLD setlk(fold, NONE, ok); ok = 0
#define INH_LOCK_OWN setlk(h, RD, ok); ok = 0; o_users[h] = o_users[h] | BIT(me)

/* ---- the child of fork() (fork.rs `child`) -------------------------------------------- */

/* `next`: what the child does once its handler ran: close the handle or exit holding it */
proctype child(byte me; byte h; byte fa; byte fb; byte fold; byte lres; bool shared; bool wr; bool rescued; byte pc) {
    byte i, c, ok, ino, o2, o3, res, loops, tries, next;
    bool saw_live, busy_by_writer, ever_writer, creating;
    do
    SIGNAL_OPTIONS(me)
    /* dup3(fb over the handle's number), then close the extra descriptors */
    :: atomic { pc == P_CH_MOVE ->
        addref(me, fb); dropref(me, h); o_users[h] = o_users[h] & ~BIT(me); h = fb;
        o_users[h] = o_users[h] | BIT(me); printf("P%d atfork child: moved to ofd %d\n", me, fb);
        dropref(me, fb); dropref(me, fa); dropref(me, fold); fa = 0; fb = 0; fold = 0;
        if :: pc = K_START :: pc = P_EXIT fi }
    /* the heir: from_inherited takes the handle lock on the inherited descriptor's OFD */
    :: atomic { pc == P_ADOPT -> setlk(h, RD, ok); ok = 0; printf("P%d adopts ofd %d\n", me, h);
        if :: pc = K_START :: pc = P_EXIT fi }
    CLOSE_STEPS
    :: atomic { pc == P_EXIT -> printf("P%d exits\n", me); release_all(me); finished++ }; break
    od;
end_gone:
    false
}

/* ---- a worker --------------------------------------------------------------------------- */

#define ROLE(me)       (me == 0 -> ROLE0 : (me == 1 -> ROLE1 : ROLE2))
#define CAN_CREATE(me) (ROLE(me) != 2)
#define CAN_OPEN(me)   (ROLE(me) != 1)

/* linkat: the name is ours, or EEXIST: open_in on it */
inline link_step() {
    if
    :: name == 0 -> name = ino; wr = 1; become_holder(me, h); printf("P%d create: linked inode %d (new)\n", me, ino);
        ino = 0; tries = 0; ever_writer = 0; creating = 0; acquired()
    :: else -> pc = P_OPEN
    fi
}

/* fork.rs prepare (normal path: two fresh read-locked OFDs, a dup of the old one, the old one
   unlocked; or the rescue; or nothing for a shared handle), then fork(2). Prepare is one step
   with the fork: while the handle's own OFD holds its read lock, adding read locks on fresh
   OFDs of the same inode, and then dropping the own one, changes nothing any other process can
   see (no lock call of theirs answers differently), and a crash in the middle releases the
   same as a crash before it. */
inline prepare_and_fork() {
    fa = 0; fb = 0; fold = 0;
    if
#ifndef BUG_FORK_SHARED_OFD
    :: !shared && !(RO_MODE && wr) ->
        newofd(me, hold[me], wr, fa); setlk(fa, RD, ok); assert(ok); o_users[fa] = BIT(me);
        newofd(me, hold[me], wr, fb); setlk(fb, RD, ok); assert(ok); o_users[fb] = BIT(me);
        addref(me, h); fold = h;
#ifndef BUG_FORK_UNLOCK_AFTER_FORK
        /* finding 1's fix: both sides' fresh OFDs are locked, so the old OFD (which either
           process may still refer to) drops its lock now */
        setlk(fold, NONE, ok);
#endif
        ok = 0
    :: !shared && PREP_MAY_FAIL ->
        /* no descriptor left, or the mode forbids reopening with the handle's access */
#ifdef BUG_FORK_FALLBACK_NO_RESCUE
        shared = 1
#else
        if
        :: !RESCUE_FAILS ->
            /* the rescue: L (the handle's access, else read-only), read-locked; then the own
               OFD (which views may pin) unlocked through the handle */
            newofd(me, hold[me], wr && !RO_MODE, lres); setlk(lres, RD, ok); assert(ok); ok = 0;
            o_users[lres] = BIT(me); setlk(h, NONE, ok); ok = 0; rescued = 1
        :: RESCUE_FAILS -> skip     /* EMFILE even at the hard limit: the lock stays on h */
        fi;
        shared = 1
#endif
    :: shared -> skip
#else
    :: true -> skip                 /* no atfork handlers at all */
#endif
    fi;
    /* fork(2): the child gets a reference to every OFD we refer to */
    d_step {
        i = 1;
        do
        :: i >= nofd -> break
        :: i < nofd ->
            o_refs[i] = o_refs[i] + pref[me * NOFD + i];
            pref[CH * NOFD + i] = pref[me * NOFD + i];
            i++
        od;
        i = 0;
        hold[CH] = hold[me];
        o_users[h] = o_users[h] | BIT(CH);
        if :: fb != 0 -> o_users[fb] = o_users[fb] | BIT(CH) :: else fi;
        if :: lres != 0 -> o_users[lres] = o_users[lres] | BIT(CH) :: else fi;
        expected++; alive = alive | BIT(CH)
    };
    if
    :: fb != 0 -> run child(CH, h, fa, fb, fold, lres, shared, wr, rescued, P_CH_MOVE)
    :: fb == 0 -> run child(CH, h, fa, fb, fold, lres, shared, wr, rescued, K_START)
    :: fb == 0 -> run child(CH, h, fa, fb, fold, lres, shared, wr, rescued, P_EXIT)
    fi;
    printf("P%d fork -> P%d (fresh ofds %d/%d, shared=%d, rescue ofd %d)\n", me, CH, fa, fb, shared, lres);
    if :: fa != 0 -> pc = P_PAR_MOVE :: else -> pc = K_START fi
}

proctype worker(byte me) {
    byte i, c, ok, ino, o2, o3, h, res, loops, tries, fa, fb, fold, lres, pc;
    bool wr, shared, saw_live, busy_by_writer, ever_writer, creating, rescued, inh;
    do
    SIGNAL_OPTIONS(me)
    /* create: openat(O_TMPFILE), header, read lock (nobody else can reach an inode with no
       name: one step with the linkat that follows), linkat */
    :: atomic { pc == P_START && CAN_CREATE(me) ->
        d_step { ino = nino; nino++; assert(ino < NINO) };
        newofd(me, ino, 1, h); ino_init[ino] = 1; setlk(h, RD, ok); assert(ok); ok = 0; o_users[h] = BIT(me);
        creating = 1; wr = 1; link_step() }
    :: atomic { pc == P_LINK -> link_step() }
    :: atomic { pc == P_OPEN -> open_step(me) }
    /* open: read-write or read-only */
    :: atomic { pc == P_START && CAN_OPEN(me) && !RO_MODE -> wr = 1; open_step(me) }
    :: atomic { pc == P_START && CAN_OPEN(me) -> wr = 0; open_step(me) }
    OPEN_IN_STEPS
    :: atomic { pc == P_HELD && FORKS(me) -> prepare_and_fork() }
    /* atfork parent: dup3(fa over our number), unlock the old OFD (already unlocked in
       prepare, except in BUG_FORK_UNLOCK_AFTER_FORK), close the extra descriptors */
    :: atomic { pc == P_PAR_MOVE ->
        addref(me, fa); dropref(me, h); o_users[h] = o_users[h] & ~BIT(me); h = fa;
        setlk(fold, NONE, ok); ok = 0; printf("P%d atfork parent: moved to ofd %d, unlocked ofd %d\n", me, fa, fold);
        dropref(me, fa); dropref(me, fb); dropref(me, fold); fa = 0; fb = 0; fold = 0; pc = K_START }
    INHERIT_STEPS
    CLOSE_STEPS
    :: atomic { pc == P_EXIT -> printf("P%d exits\n", me); release_all(me); finished++ }; break
    od;
end_gone:
    false
}


/* ---- the scanner: ls, gc, the sweep (object/scan.rs inspect, reclaim_entry; sweep.rs step) --- */

#if SCANNER
active proctype scanner() {
    byte i, c, ok, fd, rw, pc; bool reclaim;
    do
    SIGNAL_OPTIONS(SC)
    /* openat(O_RDONLY) (ls, or gc / the sweep, which reclaim) */
    :: atomic { pc == 0 -> if :: reclaim = 1 :: reclaim = 0 fi; openname(SC, 0, fd);
        if :: fd != 0 -> pc = 1 :: else -> reclaim = 0; pc = 9 fi }
#ifdef BUG_PROBE_LOCK_IN_SCAN
    /* flock(LOCK_EX|LOCK_NB) on the descriptor; then (header read) unlock */
    :: atomic { pc == 1 -> d_step { conflict(fd, WR, c); if :: c == NONE -> lockset(fd, WR) :: else fi };
        if :: c == NONE -> pc = 2 :: else -> dropref(SC, fd); fd = 0; reclaim = 0; pc = 9 fi; c = 0 }
    :: atomic { pc == 2 -> setlk(fd, NONE, ok); ok = 0;
        if :: reclaim -> pc = 3 :: else -> dropref(SC, fd); fd = 0; pc = 9 fi }
#else
    /* F_OFD_GETLK: stale if no lock; a lock-free descriptor closes unseen */
    :: atomic { pc == 1 -> d_step { conflict(fd, WR, c) };
        if :: c == NONE && reclaim -> pc = 3 :: else -> dropref(SC, fd); fd = 0; reclaim = 0; pc = 9 fi; c = 0 }
#endif
    /* reclaim: a writable OFD by name, same inode (st_nlink > 0) */
    :: atomic { pc == 3 -> open_rw(SC, rw);
        if
        :: rw != 0 && o_ino[rw] == o_ino[fd] -> pc = 4
        :: else -> if :: rw != 0 -> dropref(SC, rw); rw = 0 :: else fi; dropref(SC, fd); fd = 0; reclaim = 0; pc = 9
        fi }
    :: atomic { pc == 4 -> setlk(rw, WR, ok);
        if
        :: ok -> o_users[rw] = BIT(SC); pc = 5
        :: else -> dropref(SC, rw); rw = 0; dropref(SC, fd); fd = 0; reclaim = 0; pc = 9
        fi; ok = 0 }
    /* statat, unlinkat (under the decision lock) */
    :: atomic { pc == 5 -> if :: name == o_ino[rw] -> name = 0; printf("P%d scan: reclaimed inode %d\n", SC, o_ino[rw]) :: else fi; pc = 6 }
    :: atomic { pc == 6 -> dropref(SC, rw); rw = 0; dropref(SC, fd); fd = 0; reclaim = 0; pc = 9 }
    :: atomic { pc == 9 -> release_all(SC); finished++ }; break
    od;
end_gone:
    false
}
#endif

/* ---- the adversary: another uid with read access only ------------------------------------ */

#if ADVERSARY
active proctype adversary() {
    byte i, c, ok, n, fd;
    do
    /* O_RDONLY: the mode allows reading only */
    :: atomic { n < ADV_STEPS && fd == 0 -> n++; openname(ADV, 0, fd) }
    /* a read lock: it holds the object, as a handle does */
    :: atomic { n < ADV_STEPS && fd != 0 -> n++; setlk(fd, RD, ok); if :: ok -> o_users[fd] = BIT(ADV) :: else fi; ok = 0 }
    :: atomic { n < ADV_STEPS && fd != 0 -> n++; setlk(fd, NONE, ok); ok = 0; o_users[fd] = 0 }
    /* (a write lock on its read-only descriptor fails with EBADF: no step) */
#ifdef BUG_READONLY_EXCLUSIVE
    /* flock: LOCK_EX on a read-only descriptor */
    :: atomic { n < ADV_STEPS && fd != 0 -> n++;
        d_step { conflict(fd, WR, c); if :: c == NONE -> lockset(fd, WR); o_users[fd] = 0 :: else fi; c = 0 } }
#endif
    :: atomic { n >= ADV_STEPS -> release_all(ADV); finished++ }; break
    od;
end_gone:
    false
}
#endif

/* ---- the workers, and the end: everyone gone -> gc frees everything (I3) ----------------- */

init {
    atomic {
        run worker(0);
#if NW >= 2
        run worker(1);
#endif
#if NW == 3
        run worker(2)
#endif
    }
}

active proctype final() {
    byte i, c, ok, fd;
end_wait:
    finished == expected && stopped == 0;
    /* I3: no descriptor or view is left, so every object's memory is free */
    d_step {
        i = 1;
        do
        :: i >= nofd -> break
        :: i < nofd -> assert(o_refs[i] == 0); i++
        od
    };
    /* gc removes what is dead (nothing holds anything any more) */
    openname(FIN, 1, fd);
    if
    :: fd != 0 ->
        d_step { conflict(fd, WR, c) }; assert(c == NONE);
        setlk(fd, WR, ok); assert(ok);
        name = 0;
        drop(FIN, fd)
    :: else
    fi;
    assert(name == 0)
}
