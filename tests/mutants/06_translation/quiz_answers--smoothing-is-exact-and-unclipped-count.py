# loses: test_q3, test_q6
answer_q1 = "b"
answer_q2 = 10
answer_q3 = "a"
answer_q4 = 4000
answer_q5 = "a"
answer_q6 = 7
answer_q7 = "a"
answer_q8 = "b"
