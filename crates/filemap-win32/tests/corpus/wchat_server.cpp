// wchat_server.cpp - a UNICODE C++ chat "server": std::wstring names, L"..." literals, the W
// functions called directly, std::wcout for the console. Each message the client puts in the
// shared view is echoed back in upper case.
#include <windows.h>
#include <iostream>
#include <string>
#include <cwctype>

struct ChatBlock {
    LONG count;
    wchar_t text[120];
};

int main()
{
    const std::wstring base = L"Local\\CorpusChat";
    HANDLE map = CreateFileMappingW(INVALID_HANDLE_VALUE, nullptr, PAGE_READWRITE, 0, sizeof(ChatBlock),
                                    (base + L"Map").c_str());
    if (!map) {
        std::wcerr << L"CreateFileMappingW failed: " << GetLastError() << std::endl;
        return 1;
    }
    auto *chat = static_cast<ChatBlock *>(MapViewOfFile(map, FILE_MAP_ALL_ACCESS, 0, 0, sizeof(ChatBlock)));
    HANDLE toServer = CreateEventW(nullptr, FALSE, FALSE, (base + L"ToServer").c_str());
    HANDLE toClient = CreateEventW(nullptr, FALSE, FALSE, (base + L"ToClient").c_str());
    std::wcout << L"Chat server ready on " << base << std::endl;
    for (;;) {
        if (WaitForSingleObject(toServer, 30000) != WAIT_OBJECT_0) {
            std::wcout << L"no client" << std::endl;
            return 1;
        }
        std::wstring line(chat->text);
        std::wcout << L"client said: " << line << std::endl;
        if (line == L"bye")
            break;
        for (auto &c : line)
            c = static_cast<wchar_t>(std::towupper(c));
        wcscpy_s(chat->text, line.c_str());
        chat->count++;
        SetEvent(toClient);
    }
    std::wcout << L"server done after " << chat->count << L" messages" << std::endl;
    SetEvent(toClient);
    UnmapViewOfFile(chat);
    CloseHandle(map);
    CloseHandle(toServer);
    CloseHandle(toClient);
    return 0;
}
