export declare const sharedTestConfig: {
  test: {
    pool: "forks";
    testTimeout: number;
    hookTimeout: number;
    include: string[];
    reporters: string[];
  };
};
