DROP TABLE IF EXISTS user_observers;
