#include <windows.h>
#include <stdio.h>

int main() {
    HANDLE hMapFile;
    LPVOID pBuf;
    TCHAR szMsg[] = TEXT("Hello, shared memory!");
    SIZE_T cbMsg = (lstrlen(szMsg) + 1) * sizeof(TCHAR);

    // Create a file mapping object backed by the paging file.
    // Size is set to the size of the message.
    hMapFile = CreateFileMapping(
        INVALID_HANDLE_VALUE, // Use paging file
        NULL,                 // Default security attributes
        PAGE_READWRITE,       // Read/write protection
        0,                    // High-order DWORD of size
        cbMsg,                // Low-order DWORD of size
        TEXT("MySharedMemory")); // Name of the mapping object

    if (hMapFile == NULL) {
        printf("Could not create file mapping object (%lu).\n", GetLastError());
        return 1;
    }

    // Map the file mapping object into the address space of the calling process.
    pBuf = MapViewOfFile(
        hMapFile,
        FILE_MAP_ALL_ACCESS, // Read/write access
        0,                   // High-order DWORD of offset
        0,                   // Low-order DWORD of offset
        cbMsg);              // Number of bytes to map

    if (pBuf == NULL) {
        printf("Could not map view of file (%lu).\n", GetLastError());
        CloseHandle(hMapFile); // Clean up the file mapping object
        return 1;
    }

    // Write the message to the shared memory.
    CopyMemory(pBuf, szMsg, cbMsg);

    printf("Message written to shared memory: %s\n", (TCHAR*)pBuf);

    // Unmap the view of the file.
    UnmapViewOfFile(pBuf);

    // Close the file mapping object handle.
    CloseHandle(hMapFile);

    printf("Shared memory operations completed.\n");

    return 0;
}
