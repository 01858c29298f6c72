//! The bus contract, on a single Redis server and on Redis Cluster.

mod single {
    use switchboard_bus::{RedisBus, RedisMode, bus_contract_suite};

    use crate::support::{RedisServer, two_nodes};

    async fn pair() -> (RedisBus, RedisBus, RedisServer) {
        let server = RedisServer::start();
        let (a, b) = two_nodes(&server.url()).await;
        assert_eq!(a.mode(), RedisMode::Single);
        (a, b, server)
    }

    bus_contract_suite!(pair);
}

mod cluster {
    use switchboard_bus::{RedisBus, RedisMode, bus_contract_suite};

    use crate::support::{RedisCluster, two_nodes};

    async fn pair() -> (RedisBus, RedisBus, RedisCluster) {
        let cluster = tokio::task::spawn_blocking(RedisCluster::start)
            .await
            .unwrap();
        let (a, b) = two_nodes(&cluster.urls()).await;
        assert_eq!(a.mode(), RedisMode::Cluster);
        (a, b, cluster)
    }

    bus_contract_suite!(pair);
}
