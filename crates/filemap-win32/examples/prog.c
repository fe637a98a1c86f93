/* A Windows shared-memory program, unchanged: one handle creates a named file mapping and
 * writes a message; a second handle opens the object by name (as a second process would) and
 * reads it back. Build against the installed library:
 *     cc prog.c $(pkg-config --cflags --libs filemap-win32) -o prog
 */
#include <windows.h>
#include <stdio.h>
#include <tchar.h>

#define BUF_SIZE 256
static TCHAR szName[] = TEXT("Local\\MyFileMappingObject");
static const char szMsg[] = "Message from first process.";

int _tmain(void)
{
    HANDLE hMapFile = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, BUF_SIZE, szName);
    if (hMapFile == NULL) {
        _tprintf(TEXT("Could not create file mapping object (%lu).\n"), (unsigned long)GetLastError());
        return 1;
    }
    char *pBuf = (char *)MapViewOfFile(hMapFile, FILE_MAP_ALL_ACCESS, 0, 0, BUF_SIZE);
    if (pBuf == NULL) {
        _tprintf(TEXT("Could not map view of file (%lu).\n"), (unsigned long)GetLastError());
        CloseHandle(hMapFile);
        return 1;
    }
    CopyMemory(pBuf, szMsg, sizeof szMsg);

    HANDLE hOther = OpenFileMapping(FILE_MAP_READ, FALSE, szName);
    const char *pOther = hOther ? (const char *)MapViewOfFile(hOther, FILE_MAP_READ, 0, 0, BUF_SIZE) : NULL;
    if (pOther == NULL) {
        _tprintf(TEXT("Could not open the mapping by name (%lu).\n"), (unsigned long)GetLastError());
        return 1;
    }
    printf("read by name: %s\n", pOther);

    UnmapViewOfFile(pOther);
    CloseHandle(hOther);
    UnmapViewOfFile(pBuf);
    CloseHandle(hMapFile);
    return 0;
}
