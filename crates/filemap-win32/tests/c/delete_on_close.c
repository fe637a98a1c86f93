/* FILE_FLAG_DELETE_ON_CLOSE: the file goes when its last handle closes, and also when the
 * process exits with the handle, or a mapping of it, still open (Windows closes a dying
 * process's handles). The parent starts a child for each way of exiting and checks the file. */
#include <windows.h>
#include <stdio.h>
#include <string.h>
#include "check.h"

static HANDLE open_doc(const char *path)
{
    HANDLE f = CreateFileA(path, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_DELETE, NULL, CREATE_ALWAYS,
                           FILE_ATTRIBUTE_TEMPORARY | FILE_FLAG_DELETE_ON_CLOSE, NULL);
    DWORD n;
    CHECK(f != INVALID_HANDLE_VALUE);
    CHECK(WriteFile(f, "hello", 5, &n, NULL) && n == 5);
    return f;
}

static int child(const char *how, const char *path)
{
    HANDLE f = open_doc(path), m;
    char *v;
    CHECK(GetFileAttributesA(path) != INVALID_FILE_ATTRIBUTES);
    if (strcmp(how, "mapping") == 0) {
        m = CreateFileMappingA(f, NULL, PAGE_READWRITE, 0, 0, NULL);
        v = (char *)MapViewOfFile(m, FILE_MAP_ALL_ACCESS, 0, 0, 0);
        CHECK(m != NULL && v != NULL && memcmp(v, "hello", 5) == 0);
        printf("child %s: exists %d\n", how, GetFileAttributesA(path) != INVALID_FILE_ATTRIBUTES);
        fflush(stdout);
        ExitProcess(failures); /* with the file handle, the mapping and its view open */
    }
    printf("child %s: exists %d\n", how, GetFileAttributesA(path) != INVALID_FILE_ATTRIBUTES);
    fflush(stdout);
    if (strcmp(how, "exitprocess") == 0)
        ExitProcess(failures);
    return failures; /* "return": main returns with the handle open */
}

int main(int argc, char **argv)
{
    const char *ways[] = {"return", "exitprocess", "mapping"};
    char path[MAX_PATH], cmd[2 * MAX_PATH];
    int i;
    if (argc == 4)
        return child(argv[2], argv[3]);
    for (i = 0; i < 3; i++) {
        STARTUPINFOA si;
        PROCESS_INFORMATION pi;
        DWORD code = 99;
        snprintf(path, sizeof path, "doc_%s_%u.tmp", ways[i], (unsigned)GetCurrentProcessId());
        snprintf(cmd, sizeof cmd, "\"%s\" child %s %s", argv[0], ways[i], path);
        ZeroMemory(&si, sizeof si);
        si.cb = sizeof si;
        CHECK(CreateProcessA(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi));
        CHECK(WaitForSingleObject(pi.hProcess, 10000) == WAIT_OBJECT_0);
        CHECK(GetExitCodeProcess(pi.hProcess, &code) && code == 0);
        CHECK(CloseHandle(pi.hProcess) && CloseHandle(pi.hThread));
        printf("after %s: exists %d\n", ways[i], GetFileAttributesA(path) != INVALID_FILE_ATTRIBUTES);
    }
    /* the last CloseHandle in a live process: the name goes (delete pending on Windows), a view
     * of a mapping made from the handle stays readable */
    snprintf(path, sizeof path, "doc_close_%u.tmp", (unsigned)GetCurrentProcessId());
    {
        HANDLE f = open_doc(path);
        HANDLE m = CreateFileMappingA(f, NULL, PAGE_READONLY, 0, 0, NULL);
        const char *v = (const char *)MapViewOfFile(m, FILE_MAP_READ, 0, 0, 0);
        CHECK(m != NULL && v != NULL);
        CHECK(CloseHandle(f));
        printf("after close: exists %d\n", GetFileAttributesA(path) != INVALID_FILE_ATTRIBUTES);
        CHECK(v != NULL && memcmp(v, "hello", 5) == 0);
        CHECK(UnmapViewOfFile(v) && CloseHandle(m));
    }
    return failures != 0;
}
