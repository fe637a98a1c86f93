/* mingw_style.c - a program as built with MinGW and an old SDK sample mixed in: WINBOOL,
 * STARTUPINFO with STARTF_USESHOWWINDOW and SW_SHOWNORMAL, _MAX_PATH buffers, the old
 * CreateFileMapping((HANDLE)NULL, ...) spelling for paging-file memory, CreateEventEx, and
 * the machine's names. The child reports through the mapping. */
#include <windows.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    WINBOOL child_ok;
    char host[MAX_COMPUTERNAME_LENGTH + 1];
    char user[64];
    char sysdir[_MAX_PATH];
} Info;

int main(int argc, char **argv)
{
    HANDLE hMap = CreateFileMapping((HANDLE)NULL, NULL, PAGE_READWRITE, 0, sizeof(Info), "Local\\CorpusMinGW");
    Info *info;
    HANDLE hDone;
    STARTUPINFOA si;
    PROCESS_INFORMATION pi;
    char cmd[_MAX_PATH + 16], host[MAX_COMPUTERNAME_LENGTH + 1];
    DWORD size;
    WINBOOL ok;

    if (hMap == NULL) {
        printf("CreateFileMapping(NULL) failed: %lu\n", GetLastError());
        return 1;
    }
    info = (Info *)MapViewOfFile(hMap, FILE_MAP_ALL_ACCESS, 0, 0, 0);
    hDone = CreateEventExA(NULL, "Local\\CorpusMinGWDone", 0, EVENT_MODIFY_STATE | SYNCHRONIZE);
    if (argc > 1) {
        size = sizeof info->host;
        ok = GetComputerNameA(info->host, &size);
        size = sizeof info->user;
        ok = ok && GetUserNameA(info->user, &size);
        ok = ok && GetSystemDirectoryA(info->sysdir, sizeof info->sysdir) > 0;
        info->child_ok = ok;
        SetEvent(hDone);
        return 0;
    }
    ZeroMemory(&si, sizeof si);
    si.cb = sizeof si;
    si.dwFlags = STARTF_USESHOWWINDOW;
    si.wShowWindow = SW_SHOWNORMAL;
    snprintf(cmd, sizeof cmd, "\"%s\" child", argv[0]);
    if (!CreateProcessA(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi)) {
        printf("CreateProcess failed: %lu\n", GetLastError());
        return 1;
    }
    WaitForSingleObject(hDone, INFINITE);
    WaitForSingleObject(pi.hProcess, INFINITE);
    size = sizeof host;
    GetComputerNameA(host, &size);
    printf("child ok: %s\n", info->child_ok ? "yes" : "no");
    printf("same computer name: %s\n", strcmp(host, info->host) == 0 ? "yes" : "no");
    printf("user: %s\n", info->user);
    printf("system directory: %s\n", info->sysdir);
    CloseHandle(pi.hProcess);
    CloseHandle(pi.hThread);
    return 0;
}
