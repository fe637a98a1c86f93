/* shared_file.c - file-backed sharing: the parent creates a data file, maps it under a name,
 * starts a child that opens the mapping by name and fills in records; the parent flushes the
 * view and reads the file back with ReadFile. */
#include <windows.h>
#include <stdio.h>
#include <tchar.h>

typedef struct {
    DWORD id;
    char name[28];
} Record;

#define RECORDS 4

int _tmain(int argc, TCHAR *argv[])
{
    HANDLE file, map;
    Record *recs;
    STARTUPINFO si;
    PROCESS_INFORMATION pi;
    TCHAR cmd[MAX_PATH + 16];
    Record back[RECORDS];
    DWORD got, i;

    if (argc > 1) {
        map = OpenFileMapping(FILE_MAP_WRITE, FALSE, TEXT("Local\\CorpusRecords"));
        if (!map) {
            printf("child: OpenFileMapping failed (%lu)\n", GetLastError());
            return 1;
        }
        recs = (Record *)MapViewOfFile(map, FILE_MAP_WRITE, 0, 0, 0);
        for (i = 0; i < RECORDS; i++) {
            recs[i].id = 1000 + i;
            sprintf_s(recs[i].name, sizeof recs[i].name, "record-%lu", (unsigned long)i);
        }
        printf("child: wrote %d records\n", RECORDS);
        UnmapViewOfFile(recs);
        CloseHandle(map);
        return 0;
    }

    file = CreateFile(TEXT("records.dat"), GENERIC_READ | GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    if (file == INVALID_HANDLE_VALUE) {
        printf("CreateFile failed (%lu)\n", GetLastError());
        return 1;
    }
    map = CreateFileMapping(file, NULL, PAGE_READWRITE, 0, sizeof(Record) * RECORDS, TEXT("Local\\CorpusRecords"));
    recs = (Record *)MapViewOfFile(map, FILE_MAP_ALL_ACCESS, 0, 0, 0);
    printf("file size after CreateFileMapping: %lu\n", GetFileSize(file, NULL));

    ZeroMemory(&si, sizeof si);
    si.cb = sizeof si;
    _stprintf_s(cmd, _countof(cmd), TEXT("\"%s\" child"), argv[0]);
    CreateProcess(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi);
    WaitForSingleObject(pi.hProcess, INFINITE);

    FlushViewOfFile(recs, 0);
    SetFilePointer(file, 0, NULL, FILE_BEGIN);
    ReadFile(file, back, sizeof back, &got, NULL);
    printf("read %lu bytes back\n", got);
    for (i = 0; i < RECORDS; i++)
        printf("%lu %s\n", back[i].id, back[i].name);
    UnmapViewOfFile(recs);
    CloseHandle(map);
    CloseHandle(file);
    DeleteFile(TEXT("records.dat"));
    CloseHandle(pi.hProcess);
    CloseHandle(pi.hThread);
    return 0;
}
