/* pause_cls.c - the console habits of student programs: system("cls") first, prompts printed
 * without a newline before scanf_s and _getche, and system("pause") at the end. A worker
 * process (started with CreateProcess) prepares a message in shared memory meanwhile. */
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <conio.h>

int main(int argc, char *argv[])
{
    HANDLE map = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 256, "Local\\CorpusConsole");
    char *shared = (char *)MapViewOfFile(map, FILE_MAP_ALL_ACCESS, 0, 0, 0);
    HANDLE done = CreateEventA(NULL, TRUE, FALSE, "Local\\CorpusConsoleDone");
    char name[32];
    int color;
    STARTUPINFOA si;
    PROCESS_INFORMATION pi;
    char cmd[MAX_PATH + 16];

    if (argc > 1) {
        strcpy(shared, "the worker is ready");
        SetEvent(done);
        return 0;
    }
    system("cls");
    ZeroMemory(&si, sizeof si);
    si.cb = sizeof si;
    sprintf_s(cmd, sizeof cmd, "\"%s\" worker", argv[0]);
    CreateProcessA(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi);

    printf("Enter your name: ");
    if (scanf_s("%31s", name, (unsigned)_countof(name)) != 1)
        return 1;
    WaitForSingleObject(done, INFINITE);
    printf("Hello, %s! Message: %s\n", name, shared);
    printf("Pick a color (r/g/b): ");
    color = _getche();
    printf("\nYou picked %c\n", color);
    system("pause");
    WaitForSingleObject(pi.hProcess, INFINITE);
    CloseHandle(pi.hProcess);
    CloseHandle(pi.hThread);
    return 0;
}
