#ifndef EROOM_TESTS_SIM_CATALOG_H_
#define EROOM_TESTS_SIM_CATALOG_H_

// Names that ERoom's own log lines carry: the Java classes that log, the
// JVM threads they log from, and the frames its stack traces share.
namespace eroom::sim {

inline constexpr char kMainLogger[] = "com.febrie.eroom.Main";
inline constexpr char kApplicationConfigLogger[] =
    "com.febrie.eroom.config.ApplicationConfig";
inline constexpr char kJsonConfigLogger[] =
    "com.febrie.eroom.config.JsonConfigurationManager";
inline constexpr char kApiKeyProviderLogger[] =
    "com.febrie.eroom.config.EnvironmentApiKeyProvider";
inline constexpr char kAuthProviderLogger[] =
    "com.febrie.eroom.config.EnvironmentAuthProvider";
inline constexpr char kQueueManagerLogger[] =
    "com.febrie.eroom.service.queue.RoomRequestQueueManager";
inline constexpr char kRoomServiceLogger[] =
    "com.febrie.eroom.service.room.RoomServiceImpl";
inline constexpr char kAnthropicLogger[] =
    "com.febrie.eroom.service.ai.AnthropicAiService";
inline constexpr char kMeshyLogger[] =
    "com.febrie.eroom.service.mesh.MeshyApiService";
inline constexpr char kUndertowServerLogger[] =
    "com.febrie.eroom.server.UndertowServer";
inline constexpr char kAuthFilterLogger[] =
    "com.febrie.eroom.filter.ApiKeyAuthFilter";
inline constexpr char kApiHandlerLogger[] =
    "com.febrie.eroom.handler.ApiHandler";
inline constexpr char kUndertowLogger[] = "io.undertow";
inline constexpr char kXnioLogger[] = "org.xnio";

// The room worker's frames at the bottom of every stack trace it logs.
inline constexpr char kRoomWorkerFrames[] =
    "\tat com.febrie.eroom.service.room.RoomServiceImpl.createRoom("
    "RoomServiceImpl.java:58)\n"
    "\tat com.febrie.eroom.service.queue.RoomRequestQueueManager."
    "processRequestInBackground(RoomRequestQueueManager.java:152)\n"
    "\tat com.febrie.eroom.service.queue.RoomRequestQueueManager."
    "runProcessorLoop(RoomRequestQueueManager.java:124)\n"
    "\tat java.base/java.util.concurrent.Executors$RunnableAdapter.call("
    "Executors.java:539)\n"
    "\tat java.base/java.util.concurrent.FutureTask.run(FutureTask.java:264)\n"
    "\tat java.base/java.util.concurrent.ThreadPoolExecutor.runWorker("
    "ThreadPoolExecutor.java:1136)\n"
    "\tat java.base/java.util.concurrent.ThreadPoolExecutor$Worker.run("
    "ThreadPoolExecutor.java:635)\n"
    "\tat java.base/java.lang.Thread.run(Thread.java:840)";

inline constexpr char kMainThread[] = "main";
// The queue's single worker (maxConcurrent 1).
inline constexpr char kWorkerThread[] = "pool-2-thread-1";
// The JVM shutdown hook.
inline constexpr char kShutdownThread[] = "Thread-0";

}  // namespace eroom::sim

#endif  // EROOM_TESTS_SIM_CATALOG_H_
