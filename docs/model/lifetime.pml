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
#define NP      7
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
#define ROLE1   0               /* W1, W2: as ROLE0 */
#endif
#ifndef VIEWS
#define VIEWS   1               /* W0 may map a view */
#endif
#ifndef INHERIT
#define INHERIT 1               /* W0's handle may be inheritable (shared) */
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
byte alive = 127;               /* ghost: processes not dead */
byte hold[NP];                  /* ghost: inode a process holds a handle to (not closing) */
byte sig[NP];                   /* 1 = SIGKILL, 2 = SIGSTOP */
byte signals;
byte finished;                  /* processes that ended (normally or killed) */
byte expected = NW + SCANNER + ADVERSARY;   /* workers + scanner + adversary (+ the child once forked) */
byte stopped;
bool forked;

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
#define INV_HOLD (HOLD_OK(0) && HOLD_OK(1) && HOLD_OK(2) && HOLD_OK(3) && HOLD_OK(4) && HOLD_OK(5) && HOLD_OK(6))
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

/* ---- the killer: SIGKILL or SIGSTOP at any step ---------------------------------------- */

active proctype killer() {
    byte v;
    do
    :: signals >= MAXSIG -> break
    :: signals < MAXSIG ->
        /* one step: pick a victim and a signal (choosing is not a state of its own) */
        atomic {
            if
            :: VICTIM == 9 -> if
                :: v = 0 :: NW >= 2 -> v = 1 :: NW == 3 -> v = 2 :: FORK -> v = CH :: SCANNER -> v = SC
                fi
            :: VICTIM != 9 -> v = VICTIM
            fi;
            if
            :: sig[v] == 0 && (alive & BIT(v)) -> signals++;
                if :: STOP_ONLY == 0 -> sig[v] = 1 :: KILL_ONLY == 0 -> sig[v] = 2 fi
            :: else -> v = 0; break
            fi;
            v = 0
        }
    :: break
    od
}

/* what a process does on a signal: die (everything released) or stop forever */
inline on_signal(me) {
    if
    :: sig[me] == 1 -> release_all(me); finished++; printf("P%d KILLED\n", me)
    :: else -> stopped++; printf("P%d STOPPED\n", me);
end_stopped: (false)
    fi
}

/* ---- open_in (object/protocol.rs ObjectFile::open_in, reclaim_dead, unlink_if_same) ------------- */

#define R_LIVE       1
#define R_FREE       2
#define R_BUSY       3
#define R_CONTENDED  4
#define R_GIVEUP     5

inline open_in(me, wr, res, o2) {
    loops = 0;
    do
    :: loops >= 2 -> res = R_GIVEUP; break      /* 64 in the code */
    :: else ->
        loops++;
        openname(me, wr, o2);
        if
        :: o2 == 0 -> res = R_FREE; break
        :: else
        fi;
#ifdef BUG_PROBE_LOCK_IN_SCAN
        /* the old probe: try the exclusive lock; success means "dead" (and we keep it) */
        d_step {
            conflict(o2, WR, c); legit(o_ino[o2], saw_live); writer_on(o_ino[o2], busy_by_writer);
            if :: c == NONE -> lockset(o2, WR) :: else -> c = RD fi
        };
        if
        :: c == NONE -> o_users[o2] = BIT(me); goto have_decision
        :: else
        fi;
#else
        /* F_OFD_GETLK: takes nothing */
        /* (ghost: whether the lock seen is held through a writable descriptor, in the same step) */
        d_step { conflict(o2, WR, c); legit(o_ino[o2], saw_live); writer_on(o_ino[o2], busy_by_writer) };
#endif
        if
        :: c == WR -> drop(me, o2); res = R_BUSY;
            break
        :: c == NONE ->
            /* reclaim_dead: workers open read-write here (read-only opens reopen RDWR by name) */
            if
            :: !wr ->
                openname(me, 1, o3);
                if
                :: o3 == 0 || o_ino[o3] != o_ino[o2] ->
                    if :: o3 != 0 -> drop(me, o3) :: else fi;
                    drop(me, o2); res = R_CONTENDED; break
                :: else -> drop(me, o2); o2 = o3
                fi
            :: else
            fi;
            setlk(o2, WR, ok);
            if
            :: !ok -> drop(me, o2); res = R_CONTENDED; break
            :: else
            fi;
            o_users[o2] = BIT(me);          /* our decision, while we live */
#ifdef BUG_PROBE_LOCK_IN_SCAN
have_decision:
#endif
            /* fstat: another reclaimer removed it meanwhile? */
            if
            :: name != o_ino[o2] -> drop(me, o2); res = R_FREE; break
            :: else
            fi;
            /* header verified (valid: hostile headers are S4, not this model) */
            /* unlink_if_same: statat, then unlinkat (which removes whatever the name holds) */
            if
            :: name == o_ino[o2] -> name = 0; printf("P%d open: reclaimed dead inode %d\n", me, o_ino[o2])
            :: else
            fi;
            drop(me, o2); res = R_FREE; break
        :: c == RD ->
#ifdef BUG_BLOCKING_OPEN
            /* wait until no write lock (blocking LOCK_SH / F_OFD_SETLKW) */
            atomic { wl[o_ino[o2]] == 0 -> lockset(o2, RD); ok = 1; if :: saw_live -> o_users[o2] = BIT(me) :: else fi };
#else
            atomic { setlk(o2, RD, ok); if :: !ok -> writer_on(o_ino[o2], busy_by_writer) :: else fi;
                /* an open that saw a holder joins from here on (its lock counts as a holder) */
                if :: ok && saw_live -> o_users[o2] = BIT(me) :: else fi };
#endif
            if
            :: !ok -> drop(me, o2); res = R_BUSY; break
            :: else
            fi;
            /* fstat: st_nlink == 0 -> the holder we saw released the name: retry */
            if
            :: name != o_ino[o2] -> drop(me, o2)
            :: else ->
                /* never join an object that had no holder when we looked (resurrection) */
                assert(saw_live);
                res = R_LIVE; break
            fi
        fi
    od
}

#define OTHER_SAME(q) (!((alive & BIT(q)) && hold[q] != 0 && hold[q] != hold[me]))
/* the handle is ours: ghost bookkeeping (+ I1 check) */
inline become_holder(me, o) {
    d_step {
        o_users[o] = o_users[o] | BIT(me);
        hold[me] = o_ino[o];
        assert(OTHER_SAME(0) && OTHER_SAME(1) && OTHER_SAME(2) && OTHER_SAME(3) && OTHER_SAME(4) && OTHER_SAME(5))
    }
}

/* ---- create (ObjectFile::create, build_tmpfile, fill, link) ----------------------------- */

inline create(me) {
    /* openat(O_TMPFILE), fill (header, size), read lock: one step, since no other process can
       reach an unlinked inode (a crash in between leaves nothing behind but a closed OFD) */
    atomic {
        d_step { ino = nino; nino++; assert(ino < NINO) };
        newofd(me, ino, 1, h);
        ino_init[ino] = 1;
        setlk(h, RD, ok); assert(ok); o_users[h] = BIT(me)
    }
    d_step { tries = 0; busy_by_writer = 0; ever_writer = 0 };
    do
    :: d_step { if :: name == 0 -> name = ino; r = 1 :: else -> r = 0 fi };   /* linkat */
        if
        :: r -> become_holder(me, h); wr = 1; printf("P%d create: linked inode %d (new)\n", me, ino); break
        :: else ->
            open_in(me, 1, res, o2);
            if
            :: res == R_LIVE -> drop(me, h); h = o2; wr = 1; become_holder(me, h); printf("P%d create: existing inode %d\n", me, hold[me]); break
            :: res == R_FREE -> skip
            :: else ->
                if :: busy_by_writer -> ever_writer = 1 :: else fi;
                tries++;
                if
                :: tries > BOUND ->
                    /* ERROR_SHARING_VIOLATION: only a process that may write the object (a
                       stopped or slow decider) can make a create fail, never a reader */
                    assert(ever_writer || res == R_CONTENDED || res == R_GIVEUP);
                    drop(me, h); h = 0; printf("P%d create: ERROR_SHARING_VIOLATION\n", me); break
                :: else
                fi
            fi
        fi
    od
}

/* forget scratch values (they would only multiply the states) */
inline clean() {
    d_step { c = 0; ok = 0; loops = 0; r = 0; tries = 0; res = 0; o2 = 0; o3 = 0; saw_live = 0;
             busy_by_writer = 0; ever_writer = 0; pinned = 0; i = 0 }
}

inline open(me) {
    if :: wr = 1 :: wr = 0 fi;
    open_in(me, wr, res, o2);
    if
    :: res == R_LIVE -> h = o2; become_holder(me, h); printf("P%d open(wr=%d): joined inode %d via ofd %d\n", me, wr, hold[me], h)
    :: else -> h = 0; printf("P%d open(wr=%d): not found (result %d)\n", me, wr, res)
    fi
}

/* ---- close (release_private, release_by_name, release_shared, unlink_if_linked) -------- */

/* release_private after winning the conversion: unlinkat with no link-count check (the read lock
   held without a gap since publish/join refused every protocol unlink); checked here */
inline unlink_decided(o) {
#ifndef BUG_UNLINK_WITHOUT_DECISION
    assert(name == o_ino[o]);
#endif
    if :: name != 0 -> name = 0; printf("P%d close: decided, unlinked the name (inode %d)\n", me, o_ino[o]) :: else fi
}

inline unlink_if_linked(o) {
    if :: name == o_ino[o] -> name = 0; printf("P%d close: decided, unlinked inode %d\n", me, o_ino[o]) :: else fi   /* fstat st_nlink > 0, then unlinkat */
}

inline close_handle(me) {
    d_step { ino = hold[me]; hold[me] = 0; printf("P%d close: inode %d ofd %d shared=%d\n", me, ino, h, shared);
             pinned = (pref[me * NOFD + h] > 1) };
    if
    :: !shared ->
        if
        :: wr ->
            setlk(h, WR, ok);
#ifdef BUG_UNLINK_WITHOUT_DECISION
            ok = 1;
#endif
            if
            :: ok -> unlink_decided(h);
                if :: pinned -> setlk(h, NONE, ok) :: else fi
            :: else ->
                if :: pinned -> setlk(h, NONE, ok) :: else fi
            fi
        :: else ->
            d_step { conflict(h, WR, c) };
            setlk(h, NONE, ok);
            if
            :: c == NONE ->
                /* release_by_name: a writable OFD by name, same inode */
                openname(me, 1, o3);
                if
                :: o3 != 0 && o_ino[o3] == ino ->
                    setlk(o3, WR, ok);
                    if :: ok -> o_users[o3] = BIT(me); unlink_if_linked(o3) :: else fi
                :: else
                fi;
                if :: o3 != 0 -> drop(me, o3) :: else fi
            :: else
            fi
        fi;
        d_step { o_users[h] = o_users[h] & ~BIT(me); dropref(me, h) }
    :: shared ->
        /* release_shared: a fresh OFD by name, same inode; close ours; decide on the fresh one */
        openname(me, 1, o3);
        if
        :: o3 != 0 && o_ino[o3] != ino -> drop(me, o3); o3 = 0
        :: else
        fi;
        /* a rescued handle drops its reference to the rescue OFD L */
        if :: lres != 0 -> d_step { o_users[lres] = o_users[lres] & ~BIT(me); dropref(me, lres) }; lres = 0 :: else fi;
        d_step { o_users[h] = o_users[h] & ~BIT(me); dropref(me, h) };
        if
        :: o3 != 0 ->
            setlk(o3, WR, ok);
            if :: ok -> o_users[o3] = BIT(me); unlink_if_linked(o3) :: else fi;
            drop(me, o3)
        :: else
        fi
    fi;
    h = 0
}

/* a view: a private handle maps its own OFD; a shared one a second OFD with no lock */
inline map_view(me) {
    if
    :: !shared -> addref1(me, h); printf("P%d maps a view of ofd %d\n", me, h)
    :: shared -> newofd(me, hold[me], wr, o3); printf("P%d maps a view of lock-free ofd %d\n", me, o3); o3 = 0
    fi
}

/* fork.rs `rescue`, prepare's fallback when the two fresh OFDs cannot be made: one fresh OFD L
   of the inode, read-locked, then the handle's own OFD (which views may pin) unlocked through
   the handle; the handle closes as shared from now on, and L goes to the child too.
   (If L cannot be opened either, the old behaviour remains: a residual, not modelled.) */
inline rescue(me) {
#ifndef BUG_FORK_FALLBACK_NO_RESCUE
    newofd(me, hold[me], wr, lres);
    atomic { setlk(lres, RD, ok); assert(ok); o_users[lres] = BIT(me) };
    setlk(h, NONE, ok);
#endif
    shared = 1
}

/* ---- the child of fork() (fork.rs `child`) -------------------------------------------- */

proctype child(byte me; byte h; byte fa; byte fb; byte fold; byte lres; bool shared; bool wr) {
    byte i, c, ok, ino, o3, o2, res, loops, r, tries; bool pinned, saw_live, busy_by_writer;
    {
        if
        :: fb != 0 ->
            /* dup3(fb over the handle's number): the old OFD loses that reference */
            d_step { addref(me, fb); dropref(me, h); o_users[h] = o_users[h] & ~BIT(me); h = fb;
                     o_users[h] = o_users[h] | BIT(me) };
            d_step { dropref(me, fb); dropref(me, fa); dropref(me, fold) };   /* the others */
            printf("P%d atfork child: moved to ofd %d\n", me, fb)
        :: else
        fi;
        if :: close_handle(me) :: skip fi;   /* or exit holding it */
        printf("P%d exits\n", me);
        release_all(me); finished++
    } unless { sig[me] != 0 -> on_signal(me) }
}

/* ---- a worker --------------------------------------------------------------------------- */

proctype worker(byte me) {
    byte i, c, ok, ino, o2, o3, h, res, loops, r, tries, fa, fb, fold, lres;
    bool wr, shared, pinned, saw_live, busy_by_writer, ever_writer;
    {
        if
        :: (me == 0 && ROLE0 != 2) || (me != 0 && ROLE1 != 2) -> create(me)
        :: (me == 0 && ROLE0 != 1) || (me != 0 && ROLE1 != 1) -> open(me)
        fi;
        clean();
        if
        :: h == 0 -> goto done
        :: else
        fi;
        shared = 0;
        if :: me == 0 && INHERIT -> if :: shared = 1 :: skip fi :: else fi;   /* inheritable handle */
        if :: me == 0 && VIEWS -> if :: map_view(me) :: skip fi :: else fi;
        if
        :: me == 0 && !forked && FORK ->
            forked = 1; fa = 0; fb = 0; fold = 0;
#ifndef BUG_FORK_SHARED_OFD
            if
            :: !shared ->
                /* prepare: two fresh OFDs (via /proc/self/fd), read-locked; a dup of the old */
                if
                :: newofd(me, hold[me], wr, fa); atomic { setlk(fa, RD, ok); if :: ok -> o_users[fa] = BIT(me) :: else fi };
                    if
                    :: ok ->
                        newofd(me, hold[me], wr, fb); atomic { setlk(fb, RD, ok); assert(ok); o_users[fb] = BIT(me) };
                        addref1(me, h); fold = h;
#ifndef BUG_FORK_UNLOCK_AFTER_FORK
                        /* finding 1's fix: both sides' fresh OFDs are locked, so the old OFD
                           (which either process may still refer to) drops its lock now */
                        setlk(fold, NONE, ok)
#else
                        skip    /* the old code: unlocked in the parent handler, after fork */
#endif
                    :: else -> drop(me, fa); fa = 0; rescue(me)
                    fi
#ifndef NO_PREPARE_FAILURE
                :: rescue(me)   /* no descriptor left, or the mode forbids reopening */
#endif
                fi
            :: else
            fi;
#endif
            /* fork(2): the child gets a reference to every OFD we refer to */
            atomic {
                d_step {
                    i = 1;
                    do
                    :: i >= nofd -> break
                    :: i < nofd ->
                        o_refs[i] = o_refs[i] + pref[me * NOFD + i];
                        pref[CH * NOFD + i] = pref[me * NOFD + i];
                        i++
                    od;
                    hold[CH] = hold[me];
                    o_users[h] = o_users[h] | BIT(CH);
                    if :: fb != 0 -> o_users[fb] = o_users[fb] | BIT(CH) :: else fi;
                    if :: lres != 0 -> o_users[lres] = o_users[lres] | BIT(CH) :: else fi;
                    expected++
                };
                run child(CH, h, fa, fb, fold, lres, shared, wr);
                printf("P%d fork -> P%d (fresh ofds %d/%d, shared=%d)\n", me, CH, fa, fb, shared)
            };
            /* parent handler: dup3(fa over our number), drop the old OFD's lock, close extras */
            if
            :: fa != 0 ->
                d_step { addref(me, fa); dropref(me, h); o_users[h] = o_users[h] & ~BIT(me); h = fa };
                setlk(fold, NONE, ok); printf("P%d atfork parent: moved to ofd %d, unlocked ofd %d\n", me, fa, fold);
                d_step { dropref(me, fa); dropref(me, fb); dropref(me, fold) }
            :: else
            fi
        :: else
        fi;
        close_handle(me);
        clean();
done:
        printf("P%d exits\n", me);
        release_all(me); finished++
    } unless { sig[me] != 0 -> on_signal(me) }
}

/* ---- the scanner: ls, gc, the sweep (object/scan.rs inspect, reclaim_entry; sweep.rs step) --- */

#if SCANNER
active proctype scanner() {
    byte i, c, ok, n, fd, rw, ino; bool reclaim, stale;
    {
        n = 0;
        do
        :: n >= SCANS || !SCANNER -> break
        :: n < SCANS && SCANNER -> n++;
            if :: reclaim = 1 :: reclaim = 0 fi;
            openname(SC, 0, fd);                      /* RDONLY */
            if
            :: fd != 0 ->
#ifdef BUG_PROBE_LOCK_IN_SCAN
                d_step {                                 /* flock(LOCK_EX|LOCK_NB) on the fd */
                    conflict(fd, WR, c); stale = (c == NONE);
                    if :: stale -> lockset(fd, WR) :: else fi
                };
                if :: stale -> setlk(fd, NONE, ok) :: else fi;  /* read the header; unlock */
#else
                d_step { conflict(fd, WR, c); stale = (c == NONE); c = 0 };   /* F_OFD_GETLK */
#endif
                if
                :: reclaim && stale ->
                    openname(SC, 1, rw);
                    if
                    :: rw != 0 && o_ino[rw] == o_ino[fd] ->  /* same inode, st_nlink > 0 */
                        setlk(rw, WR, ok);
                        if
                        :: ok -> o_users[rw] = BIT(SC);
                            if :: name == o_ino[rw] -> name = 0; printf("P%d scan: reclaimed inode %d\n", SC, o_ino[rw]) :: else fi   /* statat, unlinkat */
                        :: else
                        fi
                    :: else
                    fi;
                    if :: rw != 0 -> drop(SC, rw) :: else fi
                :: else
                fi;
                drop(SC, fd); d_step { stale = 0; reclaim = 0; ok = 0; rw = 0; fd = 0 }
            :: else
            fi
        od;
        release_all(SC); finished++
    } unless { sig[SC] != 0 -> on_signal(SC) }
}
#endif

/* ---- the adversary: another uid with read access only ------------------------------------ */

#if ADVERSARY
active proctype adversary() {
    byte i, c, ok, n, fd;
    n = 0;
    do
    :: n >= ADV_STEPS || !ADVERSARY -> break
    :: n < ADV_STEPS && ADVERSARY -> n++;
        if
        :: fd == 0 -> openname(ADV, 0, fd)          /* O_RDONLY: the mode allows reading only */
        :: fd != 0 -> atomic { setlk(fd, RD, ok);
            if :: ok -> o_users[fd] = BIT(ADV) :: else fi }  /* it holds the object, as a handle */
        :: fd != 0 -> atomic { setlk(fd, NONE, ok); o_users[fd] = 0 }
#ifdef BUG_READONLY_EXCLUSIVE
        :: fd != 0 -> d_step {                          /* flock: LOCK_EX on a read-only fd */
                conflict(fd, WR, c);
                if :: c == NONE -> lockset(fd, WR); o_users[fd] = 0 :: else fi }
#endif
        fi
    od;
    release_all(ADV); finished++
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
