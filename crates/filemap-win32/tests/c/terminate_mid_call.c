/* TerminateThread stops its target wherever it is, also in the middle of a SetEvent or
 * WaitForSingleObject that reads the handle table without a lock. The terminated thread never
 * runs again, so nothing it was doing may hold up the rest of the process: every CloseHandle
 * afterwards must return at once (the table's writers wait for readers in the middle of a
 * read; a reader that will never finish must not count). Run many rounds so that some
 * terminations land inside a call. */
#include <windows.h>
#include <stdio.h>
#include "check.h"

static HANDLE busy_event;
static volatile LONG spins;

static DWORD WINAPI hammer(LPVOID arg)
{
    (void)arg;
    for (;;) {
        SetEvent(busy_event);
        WaitForSingleObject(busy_event, 0);
        InterlockedIncrement(&spins);
    }
    return 0;
}

int main(void)
{
    busy_event = CreateEventA(NULL, FALSE, FALSE, NULL);
    CHECK(busy_event != NULL);
    DWORD start = GetTickCount();
    for (int round = 0; round < 40; round++) {
        HANDLE t = CreateThread(NULL, 0, hammer, NULL, 0, NULL);
        CHECK(t != NULL);
        LONG before = spins;
        while (spins - before < 200 + round * 37)
            Sleep(0);
        CHECK(TerminateThread(t, 7));
        CHECK(WaitForSingleObject(t, 5000) == WAIT_OBJECT_0);
        CHECK(CloseHandle(t));
        /* A close that unpublishes a table entry: must not wait for the terminated thread. */
        HANDLE e = CreateEventA(NULL, TRUE, FALSE, NULL);
        CHECK(e != NULL);
        CHECK(CloseHandle(e));
    }
    CHECK(CloseHandle(busy_event));
    DWORD took = GetTickCount() - start;
    CHECK(took < 20000);
    if (failures == 0)
        printf("TERMINATE MID CALL OK (%lu ms)\n", (unsigned long)took);
    return failures != 0;
}
