/* menu_getch.c - a console menu in the style of student projects: the "writer" shows a menu,
 * reads the choice with _getch() and the text with gets_s(), and posts messages into shared
 * memory; a separate "viewer" process (same program, started first) prints each message when
 * the writer's event fires. Prompts are printed without a newline, as such programs do. */
#include <windows.h>
#include <stdio.h>
#include <string.h>
#include <conio.h>
#include <tchar.h>

typedef struct {
    int seq;
    char text[128];
    BOOL quit;
} Board;

static Board *board(HANDLE *map)
{
    *map = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, sizeof(Board), "Local\\CorpusBoard");
    return *map ? (Board *)MapViewOfFile(*map, FILE_MAP_ALL_ACCESS, 0, 0, 0) : NULL;
}

static int viewer(void)
{
    HANDLE map, posted = CreateEventA(NULL, FALSE, FALSE, "Local\\CorpusPosted");
    HANDLE seen = CreateEventA(NULL, FALSE, FALSE, "Local\\CorpusSeen");
    Board *b = board(&map);
    printf("viewer ready\n");
    for (;;) {
        WaitForSingleObject(posted, INFINITE);
        if (b->quit)
            break;
        printf("viewer: message %d: %s\n", b->seq, b->text);
        SetEvent(seen);
    }
    printf("viewer: writer quit after %d messages\n", b->seq);
    return 0;
}

int main(int argc, char *argv[])
{
    HANDLE map, posted, seen;
    Board *b;
    int choice;
    char line[128];

    if (argc > 1 && strcmp(argv[1], "viewer") == 0)
        return viewer();
    b = board(&map);
    posted = CreateEventA(NULL, FALSE, FALSE, "Local\\CorpusPosted");
    seen = CreateEventA(NULL, FALSE, FALSE, "Local\\CorpusSeen");
    for (;;) {
        printf("\n1. Post a message\n2. Show the last message\n3. Quit\nYour choice: ");
        choice = _getch();
        printf("%c\n", choice);
        if (choice == '1') {
            printf("Message: ");
            if (!gets_s(line, sizeof line))
                break;
            strcpy_s(b->text, sizeof b->text, line);
            b->seq++;
            SetEvent(posted);
            if (WaitForSingleObject(seen, 5000) == WAIT_TIMEOUT)
                printf("(no viewer) ");
            printf("posted #%d\n", b->seq);
        } else if (choice == '2') {
            printf("last: %s\n", b->seq ? b->text : "(none)");
        } else if (choice == '3' || choice == EOF) {
            break;
        } else {
            printf("Unknown choice '%c'\n", choice);
        }
    }
    b->quit = TRUE;
    SetEvent(posted);
    printf("Bye.\n");
    return 0;
}
