/* ExitThread on the main thread: the process goes on while another thread runs and ends with
 * the main thread's exit code when that thread is done (Windows ends a process with its last
 * thread). */
#include <windows.h>
#include <stdio.h>

static DWORD WINAPI worker(LPVOID p)
{
    (void)p;
    Sleep(200);
    printf("worker done\n");
    fflush(stdout);
    return 0;
}

int main(void)
{
    HANDLE t = CreateThread(NULL, 0, worker, NULL, 0, NULL);
    if (t == NULL)
        return 1;
    printf("main thread leaves\n");
    fflush(stdout);
    ExitThread(5);
}
