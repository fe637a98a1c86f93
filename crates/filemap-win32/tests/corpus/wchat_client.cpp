// wchat_client.cpp - the client of wchat_server.cpp: sends three lines and a "bye", prints the
// server's answers with wprintf (MSVC's %s is a wide string) and std::wcout.
#include <windows.h>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

struct ChatBlock {
    LONG count;
    wchar_t text[120];
};

int wmain(int argc, wchar_t *argv[])
{
    std::wstring base = L"Local\\CorpusChat";
    HANDLE map = OpenFileMappingW(FILE_MAP_ALL_ACCESS, FALSE, (base + L"Map").c_str());
    if (map == nullptr) {
        wprintf(L"OpenFileMappingW(%s) failed: %lu\n", (base + L"Map").c_str(), GetLastError());
        return 1;
    }
    auto *chat = (ChatBlock *)MapViewOfFile(map, FILE_MAP_ALL_ACCESS, 0, 0, 0);
    HANDLE toServer = OpenEventW(EVENT_MODIFY_STATE, FALSE, (base + L"ToServer").c_str());
    HANDLE toClient = OpenEventW(SYNCHRONIZE, FALSE, (base + L"ToClient").c_str());
    std::vector<std::wstring> lines = {L"hello", L"grüße aus Köln", L"third line"};
    if (argc > 1)
        lines.push_back(argv[1]);
    for (const auto &l : lines) {
        wcsncpy_s(chat->text, _countof(chat->text), l.c_str(), _TRUNCATE);
        SetEvent(toServer);
        WaitForSingleObject(toClient, INFINITE);
        wprintf(L"reply %d: %s\n", (int)chat->count, chat->text);
    }
    wcscpy_s(chat->text, L"bye");
    SetEvent(toServer);
    WaitForSingleObject(toClient, INFINITE);
    std::wcout << L"client: server counted " << chat->count << L" messages" << std::endl;
    UnmapViewOfFile(chat);
    CloseHandle(map);
    return 0;
}
